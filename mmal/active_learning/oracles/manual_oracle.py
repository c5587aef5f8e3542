import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmal.registry import ANNOTATION_FORMATS, ORACLES
from mmal.utils.fileio import atomic_write_json, atomic_write_text
from ..annotation_formats import (AnnotationFormatError, AnnotationRequest,
                                  CocoFormat, ImageReference,
                                  LabelStudioFormat, RequestImage,
                                  match_answer, recorded_detections,
                                  selection_scores)
from ..pool import SplitError
from ..work_dir import CycleDir
from .base_oracle import AnnotationRequired, BaseOracle

#: The record of a partial campaign's accepted images, in the cycle folder.
ACCEPTED = 'accepted.json'


@ORACLES.register_module()
class ManualOracle(BaseOracle):
    """Oracle for a real annotation campaign.

    On the first call for a set of images it writes, in the cycle folder,
    the request in the ``export`` format (by default ``to_annotate.json``,
    COCO json of the images with the pool's categories and no
    annotations; see :mod:`mmal.active_learning.annotation_formats`) and
    ``to_annotate.txt`` (one image path per line), then stops the loop
    with a message. Annotate the images, save what the annotation tool
    exports (Label Studio JSON, or COCO from Label Studio, CVAT or any
    tool) as ``annotated.json`` in the same folder and re-run the same
    command: the file is matched to the request by image file name and
    category name and checked, and the loop goes on.

    Args:
        pool (Pool): The run's pool.
        img_dir (str): Image folder, for the paths in ``to_annotate.txt``
            and the image references.
        answer_name (str): File name of the tool's export.
            Defaults to ``'annotated.json'``.
        export (dict, optional): The request's format,
            ``dict(type=<ANNOTATION_FORMATS name>, **settings)``
            (``'CocoFormat'``, ``'CvatCocoFormat'``,
            ``'LabelStudioFormat'``). Defaults to ``CocoFormat``.
        images (dict, optional): How the request names images,
            :class:`ImageReference` settings (``kind='path'``, ``'url'``
            with ``prefix``, ``'label_studio_local_files'`` with
            ``document_root``). Defaults to local paths.
        partial (str): ``'wait'`` (default): every requested image must be
            annotated before the loop goes on; ``'accept'``: take the
            finished ones (recorded in the cycle's ``accepted.json``) and
            return the others to the unlabeled pool. The initial set
            always waits.
        allow_empty_images (bool): Accept a Label Studio annotation with no
            box as an image without objects. Defaults to False.
        min_score (float): Detections below this score are not written as
            pre-annotations. Defaults to 0.3.
    """

    def __init__(self,
                 pool,
                 img_dir: Optional[str] = None,
                 answer_name: str = CycleDir.ANNOTATED,
                 export: Optional[dict] = None,
                 images: Optional[dict] = None,
                 partial: str = 'wait',
                 allow_empty_images: bool = False,
                 min_score: float = 0.3):
        super().__init__(pool, img_dir or '')
        self.answer_name = answer_name
        export = dict(export or dict(type='CocoFormat'))
        if ANNOTATION_FORMATS.get(export.get('type')) is None:
            raise SplitError(
                f'al.oracle.export.type {export.get("type")!r} is not a '
                'registered annotation format (e.g. CocoFormat, '
                'CvatCocoFormat, LabelStudioFormat)')
        self.format = ANNOTATION_FORMATS.build(export)
        try:
            self.image_ref = ImageReference(**(images or {}))
        except (TypeError, ValueError) as e:
            raise SplitError(f'al.oracle.images: {e}') from None
        if partial not in ('wait', 'accept'):
            raise SplitError(f"al.oracle.partial {partial!r}: expected "
                             "'wait' or 'accept'")
        self.partial = partial
        self.allow_empty_images = allow_empty_images
        self.min_score = min_score
        if self.format.uses_detections:
            self.pre_annotation_min_score = float(min_score)
        # answer boxes get ids above the pool's own
        self.first_ann_id = 1 + max((a['id'] for a in pool.data['annotations']
                                     if isinstance(a.get('id'), int)),
                                    default=0)

    # -- request -----------------------------------------------------------
    def request(self, ids: Sequence[int], request_dir: str) -> \
            AnnotationRequest:
        """What the cycle asks for: the images in pick order with their
        references, acquisition scores and recorded detections."""
        scores, record = selection_scores(request_dir)
        order = [int(i) for i in record.get('image_ids') or []]
        ids = sorted(int(i) for i in ids)
        ranked = [i for i in order if i in set(ids)]
        ids = ranked + [i for i in ids if i not in set(ranked)]
        dets = recorded_detections(request_dir, record, ids, self.pool.classes,
                                   self.min_score)
        images = []
        for i in ids:
            img = self.pool.images[i]
            try:
                ref = self.image_ref(self.img_dir, img['file_name'])
            except ValueError as e:
                raise SplitError(f'al.oracle.images: {e}') from None
            found = None if dets is None else [
                d for d in dets.get(i, [])
                if _clip(d, img['width'], img['height'])
            ]
            images.append(
                RequestImage(i, img['file_name'], img['width'], img['height'],
                             ref, scores.get(i), found))
        version = (f'mmal cycle {record["scored_by_cycle"]}'
                   if 'scored_by_cycle' in record else 'mmal')
        return AnnotationRequest(images, list(self.pool.categories), version)

    def reveal(self, image_ids: Sequence[int],
               request_dir: str) -> Dict[int, List[dict]]:
        request = self.request(image_ids, request_dir)
        answer = CycleDir(request_dir).file(self.answer_name)
        if not osp.exists(answer):
            self._write_request(request, request_dir, answer)
        return self._read_answer(request, request_dir, answer)

    def _write_request(self, request: AnnotationRequest, request_dir: str,
                       answer: str):
        files = CycleDir(request_dir)
        written = []
        for name, content in self.format.export(request).items():
            path = files.file(name)
            if isinstance(content, str):
                atomic_write_text(content, path)
            else:
                atomic_write_json(content, path, indent=1)
            written.append(path)
        paths = [
            self.pool.image_path(self.img_dir, i.id) for i in request.images
        ]
        atomic_write_text('\n'.join(paths) + '\n', files.to_annotate_list)
        raise AnnotationRequired(
            f'{len(paths)} images need annotating ('
            f'{files.to_annotate_list} lists them): '
            f'{self.format.describe_request(written)}. Save the export '
            f'(Label Studio JSON, or COCO) as {answer} and re-run the same '
            'command.')

    # -- answer ------------------------------------------------------------
    def _read_answer(self, request: AnnotationRequest, request_dir: str,
                     answer: str) -> Dict[int, List[dict]]:
        try:
            with open(answer) as f:
                data = json.load(f)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise SplitError(f'annotated file {answer!r} is not readable '
                             f'json ({e})') from None
        # Label Studio's JSON export is a list of tasks, COCO an object:
        # the export of either tool is read whatever the request was.
        fmt = next((f for f in (self.format, LabelStudioFormat(), CocoFormat())
                    if f.can_parse(data)), CocoFormat())
        what = f'annotated file {answer!r}'
        try:
            entries = fmt.parse(data, what)
        except AnnotationFormatError as e:
            raise SplitError(str(e)) from None
        initial = CycleDir(request_dir).index == 0
        matched = match_answer(
            entries,
            request.images,
            self.pool.categories,
            what,
            partial='wait' if initial else self.partial,
            allow_empty_images=self.allow_empty_images,
            first_ann_id=self.first_ann_id)
        record = CycleDir(request_dir).file(ACCEPTED)
        if self.partial == 'accept' and not initial:
            atomic_write_json(
                dict(
                    answer=answer,
                    accepted=sorted(matched.annotations),
                    unfinished=sorted(matched.unfinished)),
                record,
                indent=1)
        return matched.annotations

    def labeled_of(self, image_ids: Sequence[int],
                   request_dir: str) -> np.ndarray:
        ids = np.asarray(image_ids, np.int64).reshape(-1)
        record = CycleDir(request_dir).file(ACCEPTED)
        if self.partial != 'accept' or not osp.exists(record):
            return ids
        with open(record) as f:
            accepted = json.load(f)['accepted']
        return ids[np.isin(ids, np.asarray(accepted, np.int64))]


def _clip(det, width: int, height: int) -> bool:
    """Clip a detection to its image in place; False if nothing is left."""
    x, y, w, h = det.bbox
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    det.bbox = (x0, y0, x1 - x0, y1 - y0)
    return x1 > x0 and y1 > y0
