"""Test-time augmentation of MIST: average per proposal, then one NMS."""
from typing import List, Optional

import torch
from mmdet.structures.bbox import bbox_flip
from mmengine.model import BaseTTAModel

from mmal.models.roi_heads.mist_roi_head import DEFAULT_TEST_CFG, MISTRoIHead
from mmal.registry import MODELS


@MODELS.register_module()
class MISTTTAModel(BaseTTAModel):
    """Run a :class:`MIST` detector on every augmented view of an image
    (scales and flips from mmdet's ``TestTimeAug``), average each
    proposal's class distribution and per-class boxes (mapped back to the
    original image) over the views, then run one per-class NMS, as
    wetectron does. The views must keep the same proposals in the same
    order (put ``LoadProposals`` / ``CleanProposals`` before
    ``TestTimeAug`` and wrap the geometric transforms in
    ``ProposalBroadcaster``).

    Args:
        module (dict): The MIST detector config.
        tta_cfg (dict, optional): NMS settings; defaults to the RoI head's
            test config.
    """

    def __init__(self, tta_cfg: Optional[dict] = None, **kwargs):
        super().__init__(**kwargs)
        self.tta_cfg = tta_cfg

    def test_step(self, data):
        head = self.module.roi_head
        head.raw_output = True
        try:
            return super().test_step(data)
        finally:
            head.raw_output = False

    def merge_preds(self, data_samples_list: List[list]) -> list:
        cfg = {
            **DEFAULT_TEST_CFG,
            **(self.module.roi_head.test_cfg or {}),
            **(self.tta_cfg or {})
        }
        merged = []
        for views in data_samples_list:
            boxes, probs = [], []
            for sample in views:
                pred = sample.pred_instances
                b = pred.bboxes
                if sample.metainfo.get('flip', False):
                    b = bbox_flip(
                        b.reshape(-1, 4), sample.metainfo['ori_shape'],
                        sample.metainfo['flip_direction']).reshape(b.shape)
                boxes.append(b)
                probs.append(pred.cls_probs)
            counts = {len(p) for p in probs}
            if len(counts) != 1:
                raise ValueError(
                    'MISTTTAModel: the augmented views of '
                    f"{views[0].metainfo.get('img_path')} have different "
                    f'proposal counts {sorted(counts)}; clean the proposals '
                    'before TestTimeAug')
            res = MISTRoIHead.nms(
                torch.stack(boxes).mean(0),
                torch.stack(probs).mean(0), cfg)
            out = views[0]
            out.pred_instances = res
            merged.append(out)
        return merged
