"""An augmented view of each image, run through the detector once more."""
import copy

import numpy as np
import torch
import torch.nn.functional as F

from mmal.registry import PROBE_PASSES
from .extra_pass import BaseExtraPass

VIEWS = ('flip', 'resize', 'brightness')


@PROBE_PASSES.register_module()
class AugmentedViewPass(BaseExtraPass):
    """One more pass over an augmented view of the test-pipeline input; the
    view's detections are mapped back to the original image's pixels.

    Views (as CALD's released code defines them, on the resized input):

    * ``'flip'``: horizontal flip; boxes are flipped back.
    * ``'resize'``: the input resized by ``scale`` (CALD's
      ``smaller_resize``: 0.8), the image's ``scale_factor`` multiplied by
      the same ratio, so the detector's own rescaling returns boxes in
      original pixels.
    * ``'brightness'``: pixel values multiplied by ``factor`` and clipped
      to [0, 255] (CALD's ``color_adjust``: 1.5); boxes unchanged.

    Args:
        view (str): One of ``'flip'``, ``'resize'``, ``'brightness'``.
        scale (float): Resize ratio of ``'resize'``. Defaults to 0.8.
        factor (float): Brightness factor. Defaults to 1.5.
    """

    times = 1

    def __init__(self,
                 view: str = 'flip',
                 scale: float = 0.8,
                 factor: float = 1.5):
        if view not in VIEWS:
            raise ValueError(f'AugmentedViewPass.view must be one of {VIEWS}, '
                             f'got {view!r}')
        if not float(scale) > 0:
            raise ValueError(f'AugmentedViewPass.scale must be > 0, got '
                             f'{scale}')
        self.view = view
        self.scale = float(scale)
        self.factor = float(factor)

    def _augment(self, img: torch.Tensor, sample):
        """The view of one (C, H, W) input and its data sample."""
        sample = copy.deepcopy(sample)
        if self.view == 'flip':
            return img.flip(-1), sample
        if self.view == 'brightness':
            out = (img.float() * self.factor).clamp_(0, 255)
            return out.round_().to(img.dtype) if not img.is_floating_point() \
                else out, sample
        h, w = img.shape[-2:]
        h2, w2 = max(1, round(h * self.scale)), max(1, round(w * self.scale))
        out = F.interpolate(
            img[None].float(),
            size=(h2, w2),
            mode='bilinear',
            align_corners=False)[0]
        if not img.is_floating_point():
            out = out.round_().clamp_(0, 255).to(img.dtype)
        sw, sh = sample.metainfo.get('scale_factor', (1.0, 1.0))
        sample.set_metainfo(
            dict(img_shape=(h2, w2), scale_factor=(sw * w2 / w, sh * h2 / h)))
        return out, sample

    def run(self, probe, batch):
        views = [
            self._augment(img, s)
            for img, s in zip(batch['inputs'], batch['data_samples'])
        ]
        view_batch = dict(batch)
        view_batch['inputs'] = [v[0] for v in views]
        view_batch['data_samples'] = [v[1] for v in views]
        dets = self.detections(probe.run(view_batch))
        if self.view == 'flip':
            for d, s in zip(dets, view_batch['data_samples']):
                w_in = s.metainfo['img_shape'][1]
                sw = s.metainfo.get('scale_factor', (1.0, 1.0))[0]
                b = np.asarray(d['bboxes'], np.float32).copy()
                d['bboxes'] = np.stack([
                    w_in / sw - b[:, 2], b[:, 1], w_in / sw - b[:, 0], b[:, 3]
                ],
                                       axis=1) if len(b) else b.reshape(0, 4)
        return [dets]
