"""Moved to :mod:`mmal.models.probes` (one probe adapter per detector head
family, picked by :func:`mmal.models.probes.build_probe`). This module only
forwards to it until its last importers switch; it will be deleted."""
from mmal.models.probes import PREDICTION_FIELDS, PROBE_FIELDS, build_probe

__all__ = ['PREDICTION_FIELDS', 'PROBE_FIELDS', 'DetectorProbe']


def DetectorProbe(model, fields, score_tol: float = 1e-6):  # noqa: N802
    """Deprecated alias of :func:`mmal.models.probes.build_probe`."""
    return build_probe(model, fields, score_tol=score_tol)
