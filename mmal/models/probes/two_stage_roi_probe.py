"""Probe adapter of two-stage detectors with one RoI bbox head (Faster
R-CNN: ``StandardRoIHead`` + a bbox head with ``fc_cls``)."""
from typing import Optional

import torch
import torch.nn.functional as F

from mmal.registry import PROBES
from .score_tracing_probe import ScoreTracingProbe
from .tracing import rescale_boxes


@PROBES.register_module()
class TwoStageRoIProbe(ScoreTracingProbe):
    """Traces each detection to the RoI (proposal) it was classified from.

    Provides ``cls_probs``: the softmax of the RoI's C + 1 logits, and
    ``feats``: the input of ``fc_cls`` (the RoI's shared-fc feature, (D,)
    with D = ``fc_cls.in_features``).

    Hooks: the inputs of ``roi_head.bbox_roi_extractor`` (the rois), the
    output of ``roi_head.bbox_head`` (logits, deltas) and the input of
    ``bbox_head.fc_cls``.
    """

    priority = 20
    source = 'proposal'

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        roi_head = getattr(model, 'roi_head', None)
        if roi_head is None:
            return 'needs a two-stage detector with a roi_head'
        head = getattr(roi_head, 'bbox_head', None)
        if not (hasattr(roi_head, 'bbox_roi_extractor') and isinstance(
                head, torch.nn.Module) and hasattr(head, 'fc_cls')):
            return ('needs a single-stage RoI head with one bbox head that '
                    'has fc_cls (e.g. StandardRoIHead + Shared2FCBBoxHead); '
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
        self._hook(roi_head.bbox_roi_extractor, 'rois', pre=True)
        self._hook(roi_head.bbox_head, 'head')
        if 'feats' in self.fields:
            self._hook(roi_head.bbox_head.fc_cls, 'feat', pre=True)

    @property
    def agnostic_boxes(self) -> bool:
        """One box per proposal when the head regresses class-agnostic
        deltas."""
        return bool(self._final_bbox_head().reg_class_agnostic)

    def _final_bbox_head(self):
        """The bbox head that makes the detections."""
        return self.model.roi_head.bbox_head

    def _head_outputs(self):
        """(R, C + 1) logits and deltas the detections are made from."""
        return self._store['head']

    def _trace(self, b: int, sample):
        head = self._final_bbox_head()
        n_cls = head.num_classes
        if 'rois' not in self._store:  # no proposals in the whole batch
            rois = torch.zeros((0, 5))
            logits = torch.zeros((0, n_cls + 1))
            deltas = torch.zeros((0, 4))
            feat = torch.zeros((0, head.fc_cls.in_features))
        else:
            rois = self._store['rois'][1]
            logits, deltas = self._head_outputs()
            mine = rois[:, 0] == b
            rois, logits, deltas = rois[mine], logits[mine], deltas[mine]
            feat = (
                self._store['feat'][0][mine]
                if 'feat' in self._store else None)
        probs = F.softmax(logits.float(), dim=-1)
        img_shape = sample.metainfo['img_shape']

        def decode(rows, classes):
            d = deltas[rows]
            if not head.reg_class_agnostic:
                d = d.view(d.shape[0], -1, 4)[torch.arange(d.shape[0]),
                                              classes]
            boxes = head.bbox_coder.decode(
                rois[rows, 1:], d, max_shape=img_shape)
            return rescale_boxes(boxes, sample)

        rows = self._match(probs[:, :n_cls], sample, decode)
        feats = feat[rows] if feat is not None else None
        return probs[rows], feats
