"""Probe adapter of Sparse R-CNN (mmdet ``SparseRoIHead`` with
``DIIHead`` stages)."""
from typing import Optional

from mmal.registry import PROBES
from .class_distribution import sigmoid_distribution
from .score_tracing_probe import ScoreTracingProbe
from .tracing import rescale_boxes


@PROBES.register_module()
class SparseRoIProbe(ScoreTracingProbe):
    """Traces each Sparse R-CNN detection to its learned proposal (query).

    ``SparseRoIHead`` predicts from its last stage: it keeps the top
    ``max_per_img`` of proposals x classes of the class probabilities (a
    sigmoid head by default, so one proposal may give detections of several
    classes), with no NMS and the probability as the score, so a
    detection of class ``c`` with score ``s`` comes from the proposal whose
    class ``c`` probability is ``s``
    (:func:`~mmal.models.probes.tracing.match_sources`; equal probabilities
    are told apart by decoding the proposals' boxes with the stage's
    ``regress_by_class``).

    Provides ``cls_probs``: for a sigmoid head the C probabilities and
    ``1 - max`` as background, normalised (:func:`sigmoid_distribution`);
    for a softmax head the C + 1 probabilities. ``feats``: the proposal's
    object feature after the last stage (``DIIHead``'s ``obj_feat``, the
    input of its classification branch), (D,) with D the head's
    ``in_channels``.

    Hooks: the output of the last stage's ``bbox_head`` (logits, deltas,
    object features) and the input of its ``bbox_roi_extractor`` (rois).

    Asked before adapters of cascade RoI heads (``SparseRoIHead`` is a
    ``CascadeRoIHead``).
    """

    priority = 30
    source = 'proposal'

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        from mmdet.models.roi_heads import SparseRoIHead
        roi_head = getattr(model, 'roi_head', None)
        if not isinstance(roi_head, SparseRoIHead):
            return ('needs a Sparse R-CNN roi_head (an mmdet SparseRoIHead); '
                    f'roi_head is {type(roi_head).__name__}')
        return None

    def _final_test_cfg(self) -> dict:
        test_cfg = super()._final_test_cfg()
        return test_cfg.get('rcnn', test_cfg)

    def _register_hooks(self) -> None:
        super()._register_hooks()
        if not self.traced:
            return
        roi_head = self.model.roi_head
        self._hook(roi_head.bbox_head[-1], 'head')
        self._hook(roi_head.bbox_roi_extractor[-1], 'rois', pre=True)

    @property
    def agnostic_boxes(self) -> bool:
        """One box per proposal when the head regresses class-agnostic
        deltas."""
        return bool(self.model.roi_head.bbox_head[-1].reg_class_agnostic)

    def _trace(self, b: int, sample):
        head = self.model.roi_head.bbox_head[-1]
        logits, deltas, obj_feats = self._store['head'][:3]
        logits, deltas = logits[b].float(), deltas[b].float()
        if head.loss_cls.use_sigmoid:
            fg = logits.sigmoid()
            dist = None
        else:
            dist = logits.softmax(-1)
            fg = dist[:, :head.num_classes]
        rois = self._store['rois'][1]
        rois = rois[rois[:, 0] == b, 1:]

        def decode(rows, classes):
            boxes = head.regress_by_class(rois[rows], classes, deltas[rows],
                                          sample.metainfo)
            return rescale_boxes(boxes, sample)

        rows = self._match(fg, sample, decode)
        probs = sigmoid_distribution(fg[rows]) if dist is None else dist[rows]
        feats = obj_feats[b][rows] if 'feats' in self.fields else None
        return probs, feats
