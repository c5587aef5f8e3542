"""Label Studio's task import and JSON export (no SDK: the documented json).

Export: ``label_studio_tasks.json``, one task per image::

    {"data": {"image": <reference>, "mmal_image_id": 7,
              "acquisition_score": 0.93},
     "predictions": [{"model_version": "cycle_0", "score": 0.93,
                      "result": [{"id": "det0", "type": "rectanglelabels",
                                  "from_name": "label", "to_name": "image",
                                  "original_width": 640,
                                  "original_height": 480,
                                  "image_rotation": 0,
                                  "value": {"x": 10.0, "y": 5.0,
                                            "width": 20.0, "height": 8.0,
                                            "rotation": 0,
                                            "rectanglelabels": ["car"]},
                                  "score": 0.81}]}]}

(``x, y, width, height`` in percent of the image; the prediction's
``score``, the acquisition score, is the Data Manager's sortable
"Prediction score") and ``label_studio_config.xml``, the labeling config
with one ``<Label>`` per pool category. Import: Label Studio's JSON export
(a list of tasks with ``annotations[].result[]`` in the same shape);
cancelled (skipped) annotations do not count, a task without a submitted
annotation is unfinished.
"""
import html
from typing import Dict, List

from mmal.registry import ANNOTATION_FORMATS
from .base_format import (AnnotationFormatError, AnnotationRequest, AnswerBox,
                          AnswerEntry, BaseAnnotationFormat)

TASKS = 'label_studio_tasks.json'
LABEL_CONFIG = 'label_studio_config.xml'
RECTANGLE = 'rectanglelabels'


@ANNOTATION_FORMATS.register_module()
class LabelStudioFormat(BaseAnnotationFormat):
    """Label Studio tasks with pre-annotations; reads its JSON export.

    Args:
        from_name (str): Name of the ``<RectangleLabels>`` control.
            Defaults to ``'label'``.
        to_name (str): Name of the ``<Image>`` object. Defaults to
            ``'image'``.
        data_key (str): Task data key of the image (``$image`` in the
            labeling config). Defaults to ``'image'``.
    """

    name = 'Label Studio JSON'
    uses_detections = True

    def __init__(self,
                 from_name: str = 'label',
                 to_name: str = 'image',
                 data_key: str = 'image'):
        self.from_name = from_name
        self.to_name = to_name
        self.data_key = data_key

    def label_config(self, names: List[str]) -> str:
        labels = ''.join(f'    <Label value="{html.escape(n, quote=True)}"/>\n'
                         for n in names)
        return (f'<View>\n  <Image name="{self.to_name}" '
                f'value="${self.data_key}"/>\n'
                f'  <RectangleLabels name="{self.from_name}" '
                f'toName="{self.to_name}">\n{labels}'
                '  </RectangleLabels>\n</View>\n')

    def _result(self, det, n: int, width: int, height: int) -> dict:
        x, y, w, h = det.bbox
        return dict(
            id=f'det{n}',
            type=RECTANGLE,
            from_name=self.from_name,
            to_name=self.to_name,
            original_width=width,
            original_height=height,
            image_rotation=0,
            value=dict(
                x=100.0 * x / width,
                y=100.0 * y / height,
                width=100.0 * w / width,
                height=100.0 * h / height,
                rotation=0,
                rectanglelabels=[det.label]),
            score=float(det.score))

    def export(self, request: AnnotationRequest) -> Dict[str, object]:
        tasks = []
        for img in request.images:
            data = {self.data_key: img.ref, 'mmal_image_id': img.id}
            task = dict(data=data)
            if img.score is not None:
                data['acquisition_score'] = img.score
            if img.detections is not None or img.score is not None:
                pred = dict(
                    model_version=request.model_version,
                    result=[
                        self._result(d, n, img.width, img.height)
                        for n, d in enumerate(img.detections or [])
                    ])
                if img.score is not None:
                    pred['score'] = img.score
                task['predictions'] = [pred]
            tasks.append(task)
        return {TASKS: tasks, LABEL_CONFIG: self.label_config(request.names)}

    def describe_request(self, written):
        return (f'create a Label Studio project with the labeling config '
                f'{written[1]}, import {written[0]}, annotate, and export '
                'it as JSON (or COCO)')

    # -- import ------------------------------------------------------------
    def can_parse(self, data) -> bool:
        return isinstance(data, list)  # COCO is an object

    def parse(self, data, path: str) -> List[AnswerEntry]:
        if not isinstance(data, list):
            raise AnnotationFormatError(
                f'{path}: a Label Studio JSON export is a list of tasks, '
                f'got a json {type(data).__name__}')
        return [self._task(t, n, path) for n, t in enumerate(data)]

    def _task(self, task, n: int, path: str) -> AnswerEntry:
        if not isinstance(task, dict) or not isinstance(
                task.get('data'), dict):
            raise AnnotationFormatError(
                f'{path}: entry {n} is not a Label Studio task (an object '
                'with "data")')
        where = f'{path}: task {task.get("id", f"#{n}")}'
        ref = task['data'].get(self.data_key)
        if not isinstance(ref, str):
            raise AnnotationFormatError(
                f'{where} has no data.{self.data_key} image reference '
                f'(keys {sorted(task["data"])})')
        done = [
            a for a in task.get('annotations') or []
            if isinstance(a, dict) and not a.get('was_cancelled')
        ]
        entry = AnswerEntry(ref, f'{where} ({ref})', finished=bool(done))
        if len(done) > 1:
            ids = [a.get('id') for a in done]
            raise AnnotationFormatError(
                f'{entry.where} has {len(done)} submitted annotations '
                f'(ids {ids}): duplicate annotations of one image; keep one '
                '(delete or cancel the others) and export again')
        if not done:
            return entry
        ann = done[0]
        results = ann.get('result')
        if not isinstance(results, list):
            raise AnnotationFormatError(
                f'{entry.where}, annotation {ann.get("id")}: no "result" '
                'list')
        for r, res in enumerate(results):
            if not isinstance(res, dict) or res.get('type') != RECTANGLE:
                continue  # other controls (choices, text) are not boxes
            at = f'{entry.where}, annotation {ann.get("id")}, result {r}'
            entry.boxes.append(self._box(res, at, entry))
        entry.explicit_empty = not entry.boxes
        return entry

    @staticmethod
    def _box(res: dict, at: str, entry: AnswerEntry) -> AnswerBox:
        value = res.get('value') or {}
        labels = value.get(RECTANGLE)
        if not isinstance(labels, list) or len(labels) != 1:
            raise AnnotationFormatError(
                f'{at}: expected one label in value.rectanglelabels, got '
                f'{labels!r}')
        try:
            W = float(res['original_width'])
            H = float(res['original_height'])
            x, y, w, h = (
                float(value[k]) for k in ('x', 'y', 'width', 'height'))
        except (KeyError, TypeError, ValueError) as e:
            raise AnnotationFormatError(
                f'{at}: a rectanglelabels result needs original_width, '
                'original_height and value.x/y/width/height numbers '
                f'({e!r})') from None
        if float(value.get('rotation') or 0) != 0:
            raise AnnotationFormatError(
                f'{at}: the box is rotated by {value["rotation"]} degrees; '
                'detection boxes must be axis-aligned')
        entry.size = (W, H)
        return AnswerBox(
            labels[0],
            (x * W / 100.0, y * H / 100.0, w * W / 100.0, h * H / 100.0), at)
