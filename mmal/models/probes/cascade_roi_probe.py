"""Probe adapter of Cascade R-CNN (``CascadeRoIHead``)."""
from typing import Optional

from mmal.registry import PROBES
from .base_probe import overridden
from .two_stage_roi_probe import TwoStageRoIProbe


@PROBES.register_module()
class CascadeRoIProbe(TwoStageRoIProbe):
    """Traces each Cascade R-CNN detection to the RoI of the last stage it
    was classified from (see :class:`TwoStageRoIProbe`).

    mmdet's ``CascadeRoIHead`` scores a RoI by the softmax of its logits
    averaged over the stages and boxes it with the last stage's deltas on
    the RoIs the previous stage refined. ``cls_probs``: that softmax (C +
    1; its class entry is the detection's score). ``feats``: the input of
    the last stage's ``fc_cls`` (its shared-fc RoI feature, (D,) with D =
    ``fc_cls.in_features``).

    Hooks: the inputs of the last stage's ``bbox_roi_extractor`` (the
    refined rois), the output of every stage's ``bbox_head`` and the input
    of the last stage's ``fc_cls``.
    """

    priority = 20

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        from mmdet.models.roi_heads import CascadeRoIHead
        roi_head = getattr(model, 'roi_head', None)
        if not isinstance(roi_head, CascadeRoIHead):
            return ('needs a Cascade R-CNN roi_head (an mmdet '
                    f'CascadeRoIHead); roi_head is {type(roi_head).__name__}')
        changed = overridden(roi_head, CascadeRoIHead,
                             ('predict_bbox', '_refine_roi', '_bbox_forward'))
        if changed:
            return (f'needs CascadeRoIHead\'s own prediction; '
                    f'{type(roi_head).__name__} overrides {changed}')
        last = roi_head.bbox_head[-1]
        if not (hasattr(last, 'fc_cls') and hasattr(last, 'bbox_coder')):
            return ('needs a last-stage bbox head with fc_cls; it is '
                    f'{type(last).__name__}')
        if any(h.custom_activation for h in roi_head.bbox_head):
            return 'needs softmax bbox heads (no custom activation)'
        return None

    def _register_hooks(self) -> None:
        super(TwoStageRoIProbe, self)._register_hooks()
        if not self.traced:
            return
        roi_head = self.model.roi_head
        self._hook(roi_head.bbox_roi_extractor[-1], 'rois', pre=True)
        for stage, head in enumerate(roi_head.bbox_head):
            self._hook(head, f'head{stage}')
        if 'feats' in self.fields:
            self._hook(roi_head.bbox_head[-1].fc_cls, 'feat', pre=True)

    def _final_bbox_head(self):
        return self.model.roi_head.bbox_head[-1]

    def _head_outputs(self):
        n = self.model.roi_head.num_stages
        logits = [self._store[f'head{s}'][0] for s in range(n)]
        # the stage average, summed in CascadeRoIHead's order
        mean = sum(logits) / float(n)
        return mean, self._store[f'head{n - 1}'][1]
