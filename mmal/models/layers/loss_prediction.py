"""The loss-prediction module of Learning Loss (Yoo and Kweon, CVPR 2019)
and its margin ranking loss over image pairs."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmal.registry import MODELS


@MODELS.register_module()
class LossPredictionModule(BaseModule):
    """Predict a per-image loss from multi-level feature maps: per level
    global average pooling, a fully connected layer and ReLU; the levels'
    vectors concatenated, then one fully connected layer to a scalar
    (Fig. 2 of the paper).

    Args:
        in_channels (Sequence[int]): Channels of each feature level.
        mid_channels (int): Width of each level's layer. Defaults to 128
            (the paper's).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 mid_channels: int = 128,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        in_channels = [int(c) for c in in_channels]
        if not in_channels or min(in_channels) < 1:
            raise ValueError('LossPredictionModule.in_channels must list the '
                             'channels of each feature level, got '
                             f'{in_channels}')
        self.in_channels = in_channels
        self.levels = nn.ModuleList(
            nn.Linear(c, mid_channels) for c in in_channels)
        self.out = nn.Linear(mid_channels * len(in_channels), 1)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """(B,) predicted losses of the B images of ``feats`` (one (B, C_l,
        H_l, W_l) map per level)."""
        if len(feats) != len(self.levels):
            raise ValueError(f'LossPredictionModule has {len(self.levels)} '
                             f'levels (in_channels={self.in_channels}), got '
                             f'{len(feats)} feature maps')
        vecs = [
            F.relu(fc(x.mean(dim=(2, 3))))
            for fc, x in zip(self.levels, feats)
        ]
        return self.out(torch.cat(vecs, dim=1)).squeeze(1)


def margin_ranking_loss(pred: torch.Tensor,
                        target: torch.Tensor,
                        margin: float = 1.0) -> torch.Tensor:
    """The paper's Eq. 2 over the pairs ``(i, B - 1 - i)`` of the batch:
    ``max(0, -sign(l_i - l_j) * (p_i - p_j) + margin)``, averaged over the
    ``B // 2`` pairs (the middle image of an odd batch is unpaired);
    ``sign`` is +1 when ``l_i > l_j`` and -1 otherwise. Gradients reach
    ``pred`` only.

    Args:
        pred (Tensor): (B,) predicted losses.
        target (Tensor): (B,) the detector's losses.
        margin (float): xi. Defaults to 1.0 (the paper's).
    """
    pred, target = pred.reshape(-1), target.reshape(-1).detach()
    half = pred.numel() // 2
    if half == 0:
        return pred.sum() * 0.0
    dp = (pred - pred.flip(0))[:half]
    dt = (target - target.flip(0))[:half]
    sign = torch.where(dt > 0, torch.ones_like(dt), -torch.ones_like(dt))
    return torch.clamp(margin - sign * dp, min=0).mean()
