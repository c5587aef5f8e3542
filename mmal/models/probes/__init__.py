"""Probes: per-detection class distributions and features of an mmdet
detector's detections, taken from the forward pass that made them.

One probe adapter per detector head family, registered in
:data:`mmal.registry.PROBES`; :func:`build_probe` picks the adapter by
asking each (``mismatch`` / ``supports``, ``provided_fields``), highest
``priority`` first:

* :class:`FieldProviderProbe` (priority 100): a :class:`FieldProvider`
  model; adds what it declares in ``provided_fields`` (MIST:
  ``cls_probs``, ``feats``, ``loss``).
* :class:`SSDProbe` (30): ``SSDHead``; ``cls_probs`` (softmax over C + 1),
  ``feats`` (``cls_convs`` inputs, levels of different widths in separate
  blocks).
* :class:`AnchorHeadProbe` (20): any ``AnchorHead`` (RetinaNet);
  ``cls_probs`` (sigmoid heads: the C probabilities and ``1 - max`` as
  background, normalised), ``feats`` (``retina_cls`` input; RetinaHead-like
  heads only).
* :class:`TwoStageRoIProbe` (20): a RoI head with one bbox head that has
  ``fc_cls`` (Faster R-CNN); ``cls_probs`` (softmax of the C + 1 logits),
  ``feats`` (``fc_cls`` input).
* :class:`PredictionProbe` (-100): any detector; nothing more.

Every adapter also provides ``bboxes``, ``scores``, ``labels`` (copied
from ``pred_instances``) and, for a model with a backbone, ``img_feat``
(the backbone's last output averaged over the image's valid area). No
mmdet code is copied or changed and no second forward runs (unless the
strategy declares extra passes: :class:`ExtraPassProbe`): hooks only keep
references to tensors the model computes anyway. See
``docs/add_a_detector.md`` to add a detector family.
"""
from .anchor_head_probe import AnchorHeadProbe
from .augmented_view_pass import AugmentedViewPass
from .base_probe import PREDICTION_FIELDS, PROBE_FIELDS, BaseProbe
from .builder import build_probe, probe_adapters
from .cascade_roi_probe import CascadeRoIProbe
from .dense_head_probe import DenseHeadProbe
from .dropout_pass import DropoutPass
from .extra_pass import PASS_FIELDS, PASS_NEEDS, BaseExtraPass
from .extra_pass_probe import ExtraPassProbe, match_pass
from .field_provider import IMAGE_FIELDS_KEY, FieldProvider
from .field_provider_probe import FieldProviderProbe
from .gfl_head_probe import GFLHeadProbe
from .prediction_probe import PredictionProbe
from .query_head_probe import QueryHeadProbe
from .score_tracing_probe import ScoreTracingProbe
from .sparse_roi_probe import SparseRoIProbe
from .ssd_probe import SSDProbe
from .tood_head_probe import TOODHeadProbe
from .tracing import match_sources, rescale_boxes
from .two_stage_roi_probe import TwoStageRoIProbe
from .yolox_head_probe import YOLOXHeadProbe

__all__ = [
    'PREDICTION_FIELDS', 'PROBE_FIELDS', 'IMAGE_FIELDS_KEY', 'BaseProbe',
    'ScoreTracingProbe', 'FieldProvider', 'FieldProviderProbe',
    'TwoStageRoIProbe', 'AnchorHeadProbe', 'SSDProbe', 'PredictionProbe',
    'build_probe', 'probe_adapters', 'match_sources', 'rescale_boxes',
    'QueryHeadProbe', 'SparseRoIProbe', 'PASS_FIELDS', 'PASS_NEEDS',
    'BaseExtraPass', 'DropoutPass', 'AugmentedViewPass', 'ExtraPassProbe',
    'match_pass', 'DenseHeadProbe', 'GFLHeadProbe', 'TOODHeadProbe',
    'YOLOXHeadProbe', 'CascadeRoIProbe'
]
