"""The one interface through which a detector computes probe fields itself.

A detector whose fields cannot be traced from its modules' outputs (e.g.
:class:`mmal.models.MIST`, whose per-image ``loss`` needs the image-level
labels) subclasses :class:`FieldProvider` next to its mmdet base class::

    @MODELS.register_module()
    class MyDetector(TwoStageDetector, FieldProvider):
        provided_fields = ('cls_probs', 'loss')

        def predict(self, batch_inputs, batch_data_samples, rescale=True):
            ...  # compute what self.probe_request asks for

:class:`mmal.models.probes.FieldProviderProbe` then serves those fields:
on entering it calls :meth:`FieldProvider.request_fields` with the
requested subset (and with ``()`` on leaving), runs the detector's own
``test_step`` and reads

* per-detection fields from ``pred_instances.<field>``, one row per
  detection (``cls_probs``: (N, C + 1), background last; ``feats``:
  (N, D));
* per-image fields from the dict ``pred_instances.metainfo[
  IMAGE_FIELDS_KEY]`` (``loss``: a float; ``query_feats``: (M, D)).

``query_feats`` are features at boxes chosen by the strategy (e.g. BiB's
pairs recorded when an image was selected): the acquisition runner puts
them, in original image pixels, into each data sample's
``metainfo[QUERY_BOXES_KEY]`` before the forward pass.
"""
from typing import Sequence, Tuple

#: Key of ``pred_instances.metainfo`` holding a dict of the per-image
#: fields a :class:`FieldProvider` computed (e.g. ``{'loss': 0.7}``).
IMAGE_FIELDS_KEY = 'image_fields'
#: Key of a data sample's metainfo holding the (M, 4) boxes, in original
#: image pixels, at which ``query_feats`` are asked for.
QUERY_BOXES_KEY = 'query_boxes'


class FieldProvider:
    """Mixin of detectors that compute probe fields in their own forward.

    Attributes:
        provided_fields (tuple[str]): Keys of :data:`mmal.strategies.FIELDS`
            the detector computes itself.
    """

    provided_fields: Tuple[str, ...] = ()
    _probe_request: Tuple[str, ...] = ()

    def request_fields(self, fields: Sequence[str]) -> None:
        """Ask the next prediction passes for ``fields``; ``()`` stops.

        Args:
            fields (Sequence[str]): A subset of :attr:`provided_fields`.

        Raises:
            ValueError: If a field is not in :attr:`provided_fields`.
        """
        unknown = sorted(set(fields) - set(self.provided_fields))
        if unknown:
            raise ValueError(f'{type(self).__name__} does not provide fields '
                             f'{unknown} (provided_fields: '
                             f'{list(self.provided_fields)})')
        self._probe_request = tuple(fields)

    @property
    def probe_request(self) -> Tuple[str, ...]:
        """The fields prediction has to compute now (``()``: none)."""
        return self._probe_request
