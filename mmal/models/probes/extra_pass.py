"""Extra forward passes of the pool pass: the interface.

A strategy that needs the detector to run more than once per image (MC
dropout: T passes with dropout on; CALD: the image's augmented views)
declares the passes as configs in ``BaseStrategy.extra_passes``; the core
builds them from :data:`mmal.registry.PROBE_PASSES` and never asks what
they are. Each pass runs the same probe again, on a changed model (dropout
hooks) or a changed batch (a view), and returns its detections in original
image pixels; :class:`ExtraPassProbe` matches them to the detector's own
detections and provides the ``pass_*`` fields.
"""
from typing import Dict, List, Optional

import numpy as np

#: Fields the extra passes provide (see :data:`mmal.strategies.FIELDS`).
PASS_FIELDS = ('pass_ious', 'pass_cls_probs', 'pass_class_scores')
#: Fields the probe must provide, in every pass, for the matching.
PASS_NEEDS = ('bboxes', 'scores', 'labels', 'cls_probs')


class BaseExtraPass:
    """``times`` more forward passes of the detector over a batch.

    Subclasses implement :meth:`run`, and :meth:`mismatch` when they need
    something of the model (e.g. a named layer).
    """

    #: Forward passes :meth:`run` makes per batch.
    times: int = 1

    def mismatch(self, model) -> Optional[str]:
        """Why the pass cannot run on ``model``; None when it can."""
        return None

    def run(self, probe, batch) -> List[List[Dict[str, np.ndarray]]]:
        """Run the passes.

        Args:
            probe (BaseProbe): The entered probe; ``probe.run(batch)``
                returns ``(sample, fields)`` per image with at least
                :data:`PASS_NEEDS`.
            batch (dict): The batch from the test dataloader (not to be
                changed in place).

        Returns:
            list: per pass (``times`` of them), per image of the batch, a
            dict of :data:`PASS_NEEDS` with ``bboxes`` in the original
            image's pixels, unaugmented.
        """
        raise NotImplementedError

    @staticmethod
    def detections(outputs) -> List[Dict[str, np.ndarray]]:
        """The :data:`PASS_NEEDS` of ``probe.run`` outputs, per image."""
        return [{k: fields[k] for k in PASS_NEEDS} for _, fields in outputs]


def batch_seed(seed: int, batch, salt: int = 0) -> int:
    """A 63-bit seed from ``seed``, ``salt`` and the batch's image ids, so a
    pass draws the same numbers for the same images whatever the rank,
    shard or resumption."""
    ids = [int(s.metainfo.get('img_id', -1)) for s in batch['data_samples']]
    entropy = [int(seed) & 0xFFFFFFFF,
               int(salt) & 0xFFFFFFFF] + [i & 0xFFFFFFFF for i in ids]
    return int(
        np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]
        & np.uint64(0x7FFFFFFFFFFFFFFF))
