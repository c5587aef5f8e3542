"""CVAT-ready COCO 1.0: the request with the model's detections as
annotations, for CVAT's "Upload annotations" (format "COCO 1.0"); CVAT's
COCO 1.0 export is read as any COCO file (:class:`.CocoFormat`)."""
from typing import List

from mmal.registry import ANNOTATION_FORMATS
from .base_format import AnnotationRequest
from .coco_format import CocoFormat

CVAT = 'cvat_coco_instances.json'


@ANNOTATION_FORMATS.register_module()
class CvatCocoFormat(CocoFormat):
    """COCO 1.0 as CVAT imports it ("Upload annotations", format
    "COCO 1.0"): the images by file name, the pool's categories, and the
    current model's detections as annotations (``score`` and CVAT's
    ``attributes``), to correct rather than draw from nothing. Reads CVAT's
    COCO 1.0 export (``annotations/instances_default.json``)."""

    name = 'CVAT COCO 1.0'
    uses_detections = True
    file_name = CVAT

    def _image(self, img) -> dict:
        return dict(
            super()._image(img),
            license=0,
            flickr_url='',
            coco_url='',
            date_captured=0)

    def _annotations(self, request: AnnotationRequest) -> List[dict]:
        cat_id = {c['name']: c['id'] for c in request.categories}
        out = []
        for img in request.images:
            for det in img.detections or []:
                x, y, w, h = (float(v) for v in det.bbox)
                out.append(
                    dict(
                        id=len(out) + 1,
                        image_id=img.id,
                        category_id=cat_id[det.label],
                        segmentation=[],
                        area=w * h,
                        bbox=[x, y, w, h],
                        iscrowd=0,
                        score=float(det.score),
                        attributes=dict(occluded=False, rotation=0.0)))
        return out

    def describe_request(self, written):
        return (f'create a CVAT task with these images and labels, upload '
                f'{written[0]} as "COCO 1.0" annotations (the model\'s '
                'boxes), correct them, and export the task as "COCO 1.0"')
