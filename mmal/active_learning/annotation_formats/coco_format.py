"""COCO files: the plain request, and the COCO exports of Label Studio
(its converter's ``result.json``), CVAT (``instances_default.json``) and
other tools.

A COCO export cannot tell an image nobody annotated from one without
objects: every image it lists counts as finished.
"""
import math
from typing import Dict, List

from mmal.registry import ANNOTATION_FORMATS
from .base_format import (AnnotationFormatError, AnnotationRequest, AnswerBox,
                          AnswerEntry, BaseAnnotationFormat)

PLAIN = 'to_annotate.json'


def _number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


@ANNOTATION_FORMATS.register_module()
class CocoFormat(BaseAnnotationFormat):
    """Plain COCO: the images (pool ids, file names, sizes) and the pool's
    categories, no annotations; reads any COCO export."""

    name = 'COCO'
    #: The file the request is written to.
    file_name = PLAIN

    def _image(self, img) -> dict:
        return dict(
            id=img.id,
            file_name=img.file_name,
            width=img.width,
            height=img.height)

    def _annotations(self, request: AnnotationRequest) -> List[dict]:
        return []

    def export(self, request: AnnotationRequest) -> Dict[str, object]:
        return {
            self.file_name:
            dict(
                images=[self._image(i) for i in request.images],
                annotations=self._annotations(request),
                categories=[
                    dict(
                        id=c['id'],
                        name=c['name'],
                        supercategory=c.get('supercategory', ''))
                    for c in request.categories
                ])
        }

    def describe_request(self, written):
        return f'the images and categories are in {written[0]} (COCO)'

    def can_parse(self, data) -> bool:
        return isinstance(data, dict)

    def parse(self, data, path: str) -> List[AnswerEntry]:
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), list)
                for k in ('images', 'annotations', 'categories')):
            raise AnnotationFormatError(
                f'{path}: a COCO file is an object with "images", '
                '"annotations" and "categories" lists')
        cats = {}
        for n, c in enumerate(data['categories']):
            if not isinstance(c, dict) or 'id' not in c or not isinstance(
                    c.get('name'), str):
                raise AnnotationFormatError(
                    f'{path}: categories[{n}] needs an "id" and a "name"')
            cats[c['id']] = c['name']
        entries, by_id = [], {}
        for n, img in enumerate(data['images']):
            if not isinstance(img, dict) or not isinstance(
                    img.get('file_name'), str) or 'id' not in img:
                raise AnnotationFormatError(
                    f'{path}: images[{n}] needs an "id" and a "file_name"')
            if img['id'] in by_id:
                raise AnnotationFormatError(
                    f'{path}: images[{n}] repeats image id {img["id"]}')
            size = None
            if _number(img.get('width')) and _number(img.get('height')):
                size = (float(img['width']), float(img['height']))
            entry = AnswerEntry(
                img['file_name'],
                f'{path}: images[{n}] ({img["file_name"]})',
                size=size)
            by_id[img['id']] = entry
            entries.append(entry)
        for n, ann in enumerate(data['annotations']):
            at = f'{path}: annotations[{n}]'
            if not isinstance(ann, dict):
                raise AnnotationFormatError(f'{at} is not an object')
            entry = by_id.get(ann.get('image_id'))
            if entry is None:
                raise AnnotationFormatError(
                    f'{at} refers to image_id {ann.get("image_id")!r}, which '
                    'is not among the images')
            if ann.get('category_id') not in cats:
                raise AnnotationFormatError(
                    f'{at} has category_id {ann.get("category_id")!r}; the '
                    f'file\'s categories are {sorted(cats)}')
            box = ann.get('bbox')
            if (not isinstance(box, list) or len(box) != 4
                    or not all(_number(v) for v in box)):
                raise AnnotationFormatError(
                    f'{at} needs "bbox" as [x, y, w, h] finite numbers, got '
                    f'{box!r}')
            entry.boxes.append(
                AnswerBox(cats[ann['category_id']],
                          tuple(float(v) for v in box),
                          f'{at} (image {entry.file_name})'))
        return entries
