"""Probe adapter of detectors that compute their fields themselves."""
from typing import Dict, Optional, Tuple

import numpy as np

from mmal.registry import PROBES
from .base_probe import BaseProbe, model_name
from .field_provider import IMAGE_FIELDS_KEY, FieldProvider


@PROBES.register_module()
class FieldProviderProbe(BaseProbe):
    """Serves the fields of a :class:`FieldProvider` (e.g.
    :class:`mmal.models.MIST`: ``cls_probs``, ``feats`` and ``loss``).

    Entering calls ``model.request_fields`` with the requested fields the
    model provides, leaving calls it with ``()``. Per-detection fields are
    read from ``pred_instances.<field>`` ((N, ...) rows), per-image ones
    from ``pred_instances.metainfo[IMAGE_FIELDS_KEY][field]``. ``img_feat``
    comes from the backbone hook unless the model provides it.
    """

    priority = 100

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        if isinstance(model, FieldProvider):
            return None
        return ('needs a detector that implements '
                'mmal.models.probes.FieldProvider (declares provided_fields '
                'and computes them itself)')

    @classmethod
    def provided_fields(cls, model) -> Tuple[str, ...]:
        common = super().provided_fields(model)
        return common + tuple(
            f for f in model.provided_fields if f not in common)

    @property
    def requested(self) -> Tuple[str, ...]:
        """The requested fields the model computes."""
        return tuple(
            sorted(set(self.fields) & set(self.model.provided_fields)))

    def _register_hooks(self) -> None:
        if 'img_feat' in self.fields and 'img_feat' not in self.requested:
            self._hook(self.model.backbone, 'backbone')
        self.model.request_fields(self.requested)

    def _release(self) -> None:
        self.model.request_fields(())

    def _img_feat(self, b: int, sample) -> np.ndarray:
        if 'img_feat' in self.requested:
            return self._read(sample, 'img_feat')
        return super()._img_feat(b, sample)

    def _read(self, sample, field: str) -> np.ndarray:
        """Field ``field`` of ``sample`` as the model put it."""
        pred = sample.pred_instances
        per_image = pred.metainfo.get(IMAGE_FIELDS_KEY) or {}
        if field in per_image:
            value = np.asarray(per_image[field])
            return value.astype(np.float32) if value.dtype.kind == 'f' \
                else value
        value = pred.get(field, None)
        if value is None:
            raise RuntimeError(
                f'{model_name(self.model)} declares field {field!r} in '
                'provided_fields but its prediction has neither '
                f'pred_instances.{field} nor pred_instances.metainfo'
                f'[{IMAGE_FIELDS_KEY!r}][{field!r}]')
        return value.float().cpu().numpy()

    def _fields(self, b: int, sample) -> Dict[str, np.ndarray]:
        return {
            f: self._read(sample, f)
            for f in self.requested
            if f not in ('bboxes', 'scores', 'labels', 'img_feat')
        }
