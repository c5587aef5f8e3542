"""The VGG16 backbone of weakly-supervised detectors (WSDDN, OICR, MIST).

Layer indices follow the usual ImageNet VGG16 ``features`` module (conv1_1
is ``features.0``, conv5_3 ``features.28``), so an ImageNet VGG16 state dict
loads with ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='features.')``-style prefix mapping; pool4 (``features.23``) and the
ReLU after conv5_3 (``features.29``) are identities here and pool5 is gone.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmal.registry import MODELS

#: (number of 3x3 convs, width) of the five VGG16 stages.
VGG16_STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


@MODELS.register_module()
class WSODVGG16(BaseModule):
    """VGG16 with pool4 removed and conv5 dilated: one output at stride 8.

    As in the WSOD detectors built on it (WSDDN, OICR, MIST / wetectron):
    pool1-3 halve the resolution, pool4 is removed, the conv5 stage uses
    dilation 2 so its receptive field matches the original network, and
    conv5_3 has no ReLU (the RoI head follows it directly).

    Args:
        width_mult (float): Multiplies every stage width; 1.0 is VGG16,
            the toy configs use a fraction to run on CPU. Defaults to 1.0.
        frozen_stages (int): Stages (1-based) whose parameters are frozen:
            2 freezes conv1 and conv2 as wetectron does. -1 freezes none.
            Defaults to 2.
        conv5_dilation (int): Dilation of the conv5 stage. Defaults to 2.
        stages (Sequence[tuple]): ``(num_convs, width)`` per stage.
            Defaults to VGG16's.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 width_mult: float = 1.0,
                 frozen_stages: int = 2,
                 conv5_dilation: int = 2,
                 stages: Sequence[Tuple[int, int]] = VGG16_STAGES,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu')
            ]
        super().__init__(init_cfg=init_cfg)
        if len(stages) != 5:
            raise ValueError(f'WSODVGG16 needs 5 stages, got {len(stages)}')
        if not -1 <= frozen_stages <= 5:
            raise ValueError('frozen_stages must be in [-1, 5], got '
                             f'{frozen_stages}')
        self.frozen_stages = frozen_stages
        layers, self.stage_ends = [], []
        in_ch = 3
        for stage, (num_convs, width) in enumerate(stages):
            out_ch = max(1, int(round(width * width_mult)))
            dilation = conv5_dilation if stage == 4 else 1
            for conv in range(num_convs):
                layers.append(
                    nn.Conv2d(
                        in_ch, out_ch, 3, padding=dilation, dilation=dilation))
                last = stage == 4 and conv == num_convs - 1
                layers.append(nn.Identity() if last else nn.ReLU(True))
                in_ch = out_ch
            if stage < 3:
                layers.append(nn.MaxPool2d(2, 2))
            elif stage == 3:
                layers.append(nn.Identity())  # pool4, removed
            self.stage_ends.append(len(layers))
        self.features = nn.Sequential(*layers)
        self.out_channels = in_ch
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages <= 0:
            return
        for layer in self.features[:self.stage_ends[self.frozen_stages - 1]]:
            for param in layer.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Returns a one-element tuple: the conv5_3 map at stride 8."""
        return (self.features(x), )

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self
