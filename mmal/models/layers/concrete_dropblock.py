"""Concrete DropBlock (Ren et al., CVPR 2020): a learned, adversarial
dropout of RoI feature blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmal.registry import MODELS


@MODELS.register_module()
class ConcreteDropBlock(BaseModule):
    """Drop the most discriminative blocks of pooled RoI features.

    A small conv network predicts, per RoI and location, the probability of
    dropping it; a relaxed-Bernoulli (Concrete) sample of that probability,
    spread to ``block_size`` x ``block_size`` blocks by max pooling, masks
    the features (rescaled to keep their expected sum). The network is
    trained to *increase* the detector's loss with its own optimizer (see
    :meth:`mmal.models.MIST.train_step`), so it learns to hide the parts the
    detector relies on and the detector learns to use whole objects. In eval
    mode it is the identity.

    Args:
        in_channels (int): Channels of the pooled RoI features.
        hidden_channels (int): Width of the mask network. Defaults to 128.
        block_size (int): Side of a dropped block. Defaults to 3.
        temperature (float): Concrete temperature. Defaults to 0.3.
        max_drop (float): Largest drop probability of a location.
            Defaults to 0.3.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int = 128,
                 block_size: int = 3,
                 temperature: float = 0.3,
                 max_drop: float = 0.3,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if block_size % 2 != 1:
            raise ValueError(f'block_size must be odd, got {block_size}')
        self.mask_net = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 3, padding=1),
            nn.ReLU(inplace=True), nn.Conv2d(hidden_channels, 1, 3, padding=1))
        self.block_size = block_size
        self.temperature = temperature
        self.max_drop = max_drop

    def forward(self, feats: Tensor) -> Tensor:
        if not self.training or feats.numel() == 0:
            return feats
        # The mask network sees the features but sends no gradient back
        # into the detector: the detector must not learn to steer it.
        drop_p = self.max_drop * torch.sigmoid(self.mask_net(feats.detach()))
        noise = torch.rand_like(drop_p).clamp(1e-6, 1 - 1e-6)
        logits = (
            torch.log(drop_p + 1e-6) - torch.log1p(-drop_p + 1e-6) +
            torch.log(noise) - torch.log1p(-noise))
        drop = torch.sigmoid(logits / self.temperature)
        drop = F.max_pool2d(
            drop, self.block_size, stride=1, padding=self.block_size // 2)
        keep = 1 - drop
        scale = keep.numel() / keep.sum().clamp(min=1.0)
        return feats * keep * scale
