"""Learning Loss (Yoo and Kweon, CVPR 2019) around any mmdet detector.

``type='LearningLossDetector', detector=dict(...)`` builds the detector of
``detector`` as an instance of a subclass of its own class that adds a
:class:`mmal.models.layers.LossPredictionModule` on the neck's outputs
(the detector's ``extract_feat``). Nothing of the detector is copied or
changed: its state-dict keys, heads and probes stay as they are, and the
module's weights live under ``loss_prediction.``.

Training adds ``loss_pred``: ``loss_weight`` times the margin ranking loss
(:func:`mmal.models.layers.margin_ranking_loss`) between the module's
predictions and each image's own detector loss (the detector's loss on that
image alone, computed without gradients from the same features).
:class:`mmal.engine.hooks.LearningLossHook` stops the module's gradient
into the detector after the paper's fraction of the cycle's training.

Prediction, when the probe asks for ``loss`` (it is a
:class:`mmal.models.probes.FieldProvider`), puts the predicted loss in
``pred_instances.metainfo[IMAGE_FIELDS_KEY]['loss']``; the ``learning-loss``
strategy takes the top-b.
"""
from typing import Dict, Optional, Type

import torch

from mmal.models.layers.loss_prediction import (LossPredictionModule,
                                                margin_ranking_loss)
from mmal.models.probes.field_provider import IMAGE_FIELDS_KEY, FieldProvider
from mmal.registry import MODELS


class LearningLossMixin(FieldProvider):
    """What :func:`LearningLossDetector` adds to a detector class."""

    provided_fields = ('loss', )

    def attach_loss_prediction(self, module: LossPredictionModule,
                               loss_weight: float, margin: float) -> None:
        self.loss_prediction = module
        self.loss_pred_weight = float(loss_weight)
        self.loss_pred_margin = float(margin)
        #: Whether the module's input is detached from the detector
        #: (set by LearningLossHook after the paper's epoch 120 of 200).
        self.loss_pred_detached = False
        self._ll_feats = None
        self._ll_given = None

    def stop_loss_gradient(self, stop: bool) -> None:
        """Detach (True) or not the module's input from the detector."""
        self.loss_pred_detached = bool(stop)

    def extract_feat(self, batch_inputs):
        if self._ll_given is not None:
            return self._ll_given
        feats = super().extract_feat(batch_inputs)
        self._ll_feats = feats
        return feats

    def _take_feats(self):
        feats, self._ll_feats = self._ll_feats, None
        if feats is None:
            raise RuntimeError(
                f'{type(self).__name__}: extract_feat was not called')
        return tuple(feats) if isinstance(feats, (tuple, list)) else (feats, )

    @torch.no_grad()
    def per_image_losses(self, batch_inputs, batch_data_samples,
                         feats) -> torch.Tensor:
        """(B,) the detector's total loss on each image alone, from the
        given features (no gradient)."""
        out = []
        for i in range(len(batch_data_samples)):
            self._ll_given = tuple(f[i:i + 1].detach() for f in feats)
            try:
                losses = super().loss(batch_inputs[i:i + 1],
                                      batch_data_samples[i:i + 1])
            finally:
                self._ll_given = None
            total, _ = self.parse_losses(losses)
            out.append(total.detach())
        return torch.stack(out)

    def loss(self, batch_inputs, batch_data_samples):
        losses = super().loss(batch_inputs, batch_data_samples)
        feats = self._take_feats()
        target = self.per_image_losses(batch_inputs, batch_data_samples, feats)
        if self.loss_pred_detached:
            feats = tuple(f.detach() for f in feats)
        pred = self.loss_prediction(feats)
        losses['loss_pred'] = self.loss_pred_weight * margin_ranking_loss(
            pred, target, self.loss_pred_margin)
        return losses

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        results = super().predict(batch_inputs, batch_data_samples, rescale)
        feats = self._take_feats()
        if 'loss' in self.probe_request:
            pred = self.loss_prediction(feats).float().cpu()
            for sample, value in zip(results, pred):
                fields = dict(
                    sample.pred_instances.metainfo.get(IMAGE_FIELDS_KEY) or {})
                fields['loss'] = float(value)
                sample.pred_instances.set_metainfo({IMAGE_FIELDS_KEY: fields})
        return results


_CLASSES: Dict[type, type] = {}


def learning_loss_class(base: Type) -> Type:
    """The subclass of detector class ``base`` with Learning Loss."""
    if base not in _CLASSES:
        _CLASSES[base] = type(
            f'LearningLoss{base.__name__}', (LearningLossMixin, base), {
                '__module__': __name__,
                '__doc__': f'{base.__name__} with a Learning Loss module.'
            })
    return _CLASSES[base]


@MODELS.register_module()
def LearningLossDetector(detector: dict,
                         loss_module: Optional[dict] = None,
                         loss_weight: float = 1.0,
                         margin: float = 1.0):
    """Build ``detector`` with a loss-prediction module on its neck.

    Args:
        detector (dict): Any mmdet detector's model config.
        loss_module (dict): Arguments of :class:`LossPredictionModule`:
            ``in_channels`` (the channels of each neck level) and
            ``mid_channels`` (128).
        loss_weight (float): lambda, the weight of the ranking loss.
            Defaults to 1.0 (the paper's).
        margin (float): xi, the ranking margin. Defaults to 1.0 (the
            paper's and the ENMS comparison's).

    Returns:
        nn.Module: The detector, an instance of
        ``LearningLoss<DetectorClass>``.
    """
    if not isinstance(detector, dict) or 'type' not in detector:
        raise ValueError('LearningLossDetector.detector must be a detector '
                         f'config with a type, got {detector!r}')
    if not loss_module or 'in_channels' not in loss_module:
        raise ValueError(
            'LearningLossDetector.loss_module must give in_channels, the '
            'channels of each of the detector\'s neck outputs (e.g. '
            '[256] * 5 for an FPN with 5 outputs)')
    model = MODELS.build(detector)
    # the built detector becomes an instance of its Learning Loss subclass
    # (same attributes; the subclass only adds methods)
    model.__class__ = learning_loss_class(type(model))
    model.attach_loss_prediction(
        LossPredictionModule(**loss_module), loss_weight, margin)
    return model
