"""The base of adapters that trace detections to their source by score."""
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from mmal.strategies import StrategyError
from .base_probe import BaseProbe, model_name
from .tracing import match_sources


class ScoreTracingProbe(BaseProbe):
    """Adds ``cls_probs`` and ``feats`` by tracing every final detection
    back to the source (proposal / anchor) whose class probability is its
    score (:func:`mmal.models.probes.tracing.match_sources`), from tensors
    kept by forward hooks.

    Subclasses register their hooks in :meth:`_register_hooks` and return
    the traced rows in :meth:`_trace`. Building refuses test configs that
    rewrite scores (soft-NMS, score factors) when a traced field is
    requested.
    """

    provides = ('cls_probs', 'feats')
    #: What a detection is traced to, for messages.
    source = 'source'
    #: Set True to keep, per image of the last :meth:`run`, ``dict(rows,
    #: boxes)`` in :attr:`sources`: the traced source rows and their boxes
    #: decoded as the head does (original-image pixels); for checks, off
    #: in acquisition.
    record_sources: bool = False
    #: Whether a source's decoded box is the same for every class: then
    #: :func:`match_sources` decodes every source once and looks detections
    #: up by their box first. Subclasses whose heads regress one box per
    #: source say so.
    agnostic_boxes: bool = False

    def __init__(self, model, fields, score_tol: float = 1e-6):
        super().__init__(model, fields, score_tol)
        if self.traced:
            self._check_scores_kept()

    @property
    def traced(self) -> Tuple[str, ...]:
        """The requested fields that need tracing."""
        return tuple(f for f in ('cls_probs', 'feats') if f in self.fields)

    def _final_test_cfg(self) -> dict:
        """The test config of the stage that makes the detections."""
        return getattr(self.model, 'test_cfg', None) or {}

    def _check_scores_kept(self) -> None:
        """Refuse test configs that rewrite scores (tracing needs the
        head's probabilities unchanged): soft-NMS, score factors."""
        nms = (self._final_test_cfg() or {}).get('nms') or {}
        head = getattr(self.model, 'bbox_head', None)
        if 'soft' in str(nms.get('type', '')).lower() or getattr(
                head, 'with_score_factors', False):
            raise StrategyError(
                f'detector {model_name(self.model)}: probes trace each '
                'detection to its proposal/anchor by score, which soft-NMS '
                f'or score factors rewrite (test_cfg nms={dict(nms)}); use '
                'plain nms for the pool pass')

    def run(self, batch):
        self.sources = []
        return super().run(batch)

    def _match(self, probs_fg: torch.Tensor, sample, decode) -> torch.Tensor:
        """(N,) source row of every detection of ``sample``; see
        :func:`match_sources`. Records the sources when
        :attr:`record_sources` is set."""
        rows = match_sources(probs_fg, sample, decode, self.score_tol,
                             self.source, self.agnostic_boxes)
        if self.record_sources:
            labels = sample.pred_instances.labels
            self.sources.append(dict(rows=rows, boxes=decode(rows, labels)))
        return rows

    def _trace(self, b: int,
               sample) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The traced distributions and features of image ``b``.

        Args:
            b (int): Index of the image in the batch.
            sample (DetDataSample): Its prediction, with N detections.

        Returns:
            tuple: (N, C + 1) class distributions (background last) and
            (N, D) features (None when ``feats`` is not requested).
        """
        raise NotImplementedError

    def _fields(self, b: int, sample) -> Dict[str, np.ndarray]:
        if not self.traced:
            return {}
        probs, feats = self._trace(b, sample)
        out = {}
        if 'cls_probs' in self.fields:
            out['cls_probs'] = probs.float().cpu().numpy()
        if 'feats' in self.fields:
            out['feats'] = feats.float().cpu().numpy()
        return out
