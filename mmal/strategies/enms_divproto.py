"""Entropy, ENMS and DivProto (Wu, Chen and Huang, "Entropy-based Active
Learning for Object Detection with Progressive Diversity Constraint", CVPR
2022), with every Table 1 ablation row as a config.

Per image (``summarize``, during inference):

* instance entropy (Eq. 1): the binary entropy of each detection's score;
* image score: the sum of all instance entropies (Eq. 2, "basic detection
  entropy") or, with ENMS (Algorithm 1), the sum over the detections that
  survive entropy-ordered suppression of same-class look-alikes;
* with DivProto: one prototype per predicted class (Eq. 3, entropy-weighted
  mean of that class's instance features, unit-normalised, fp16) and the
  class's highest confidence ``p(i, c)``.

Per cycle (``select``): the top ``budget`` images by score, or DivProto's
Algorithm 2: walk the images by score and accept one when it brings a class
whose prototype is not yet represented in this cycle's picks (Eq. 4,
``M_g < T_intra``) and it likely contains a minority class with quota left
(Eq. 5, ``M_p > T_inter``); then fill up from the sorted list.

The decisions on the paper's open points are in
``docs/strategies/enms_divproto.md``.
"""
from typing import Dict, List, Mapping, Optional

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .core_set import release_mapped

#: Walked images between two releases of their mapped shard pages.
RELEASE_EVERY = 256

_EPS = 1e-12


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Eq. 1: ``-p log p - (1 - p) log(1 - p)`` (natural log), 0 at 0 and
    1."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    q = 1.0 - p
    return -(p * np.log(np.maximum(p, _EPS)) + q * np.log(np.maximum(q, _EPS)))


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def enms(labels: np.ndarray, entropies: np.ndarray, feats: np.ndarray,
         threshold: float) -> np.ndarray:
    """Algorithm 1: indices of the detections ENMS keeps, in pick order.

    Repeatedly take the remaining detection with the largest entropy (the
    lower index on ties) and drop every remaining detection of the same
    class whose feature has cosine similarity ``> threshold`` with it.
    The image's ENMS entropy is ``entropies[kept].sum()``.
    """
    n = len(labels)
    if n == 0:
        return np.zeros((0, ), dtype=np.int64)
    unit = unit_rows(feats)
    order = np.argsort(-np.asarray(entropies), kind='stable')
    alive = np.ones(n, dtype=bool)
    kept = []
    for k in order:
        if not alive[k]:
            continue
        kept.append(k)
        alive[k] = False
        same = alive & (labels == labels[k])
        if same.any():
            idx = np.nonzero(same)[0]
            sim = unit[idx] @ unit[k]
            alive[idx[sim > threshold]] = False
    return np.asarray(kept, dtype=np.int64)


def class_prototypes(labels: np.ndarray, entropies: np.ndarray,
                     feats: np.ndarray):
    """Eq. 3: per predicted class, the entropy-weighted mean of its
    detections' features. A class whose detections all have zero entropy
    (scores of exactly 0 or 1) gets the plain mean.

    Returns:
        tuple: ``classes`` (K,) sorted, ``protos`` (K, D) float32.
    """
    classes = np.unique(labels)
    feats = np.asarray(feats, dtype=np.float64)
    protos = np.zeros((len(classes), feats.shape[1] if feats.ndim == 2 else 0))
    for j, c in enumerate(classes):
        m = labels == c
        w = np.asarray(entropies, dtype=np.float64)[m]
        if w.sum() <= 0:
            w = np.ones_like(w)
        protos[j] = (w[:, None] * feats[m]).sum(0) / w.sum()
    return classes, protos.astype(np.float32)


class _PickedPrototypes:
    """Unit prototypes of the images picked so far, grouped by class, in
    growable buffers (one matrix product per class and candidate)."""

    def __init__(self, dim: int):
        self.dim = dim
        self.buf: Dict[int, np.ndarray] = {}
        self.size: Dict[int, int] = {}

    def max_similarity(self, c: int, proto: np.ndarray) -> float:
        n = self.size.get(c, 0)
        if n == 0:
            return -np.inf
        return float((self.buf[c][:n] @ proto).max())

    def add(self, c: int, proto: np.ndarray) -> None:
        n = self.size.get(c, 0)
        buf = self.buf.get(c)
        if buf is None or n == buf.shape[0]:
            grown = np.zeros((max(8, 2 * n), self.dim), dtype=np.float32)
            if buf is not None:
                grown[:n] = buf
            self.buf[c] = buf = grown
        buf[n] = proto
        self.size[c] = n + 1


@STRATEGIES.register_module(name=['ENMSDivProto', 'enms-divproto'])
class ENMSDivProto(BaseStrategy):
    """The full method (Entropy + ENMS + DivProto) and its ablations.

    Args:
        use_enms (bool): Score images by ENMS entropy (Algorithm 1) instead
            of the basic detection entropy (Eq. 2). Defaults to True.
        use_divproto (bool): Select with Algorithm 2 instead of top-b.
            Defaults to True.
        t_enms (float): ENMS cosine threshold. Defaults to 0.5.
        t_intra (float): Intra-class threshold: reject when ``M_g >=
            t_intra``. Defaults to 0.7.
        t_inter (float): Inter-class threshold: accept when ``M_p >
            t_inter``; also the confidence above which a minority class's
            quota is used. Defaults to 0.3.
        alpha (float): Share of classes that are minority classes
            (``max(1, round(alpha * C))``). Defaults to 0.5.
        beta (float): Share of the budget reserved for minority classes;
            each gets ``max(1, round(beta * b / C_minor))``. Defaults to 0.75.
        intra (bool): Apply the intra-class test (Eq. 4) in Algorithm 2.
            Defaults to True.
        inter (bool): Apply the inter-class test and quotas (Eq. 5). Without
            it the constrained pass walks the whole pool until ``b`` images
            are accepted. Defaults to True.
        min_score (float): Detections below this score are ignored (on top
            of the detector's own ``test_cfg.score_thr``). Defaults to 0.
        max_dets (int, optional): Keep only the ``max_dets`` highest-scored
            detections of an image. Defaults to None (all the detector
            returns, e.g. 100 with mmdet's COCO test configs).
        proto_from (str): ``'all'`` detections (Eq. 3 as written) or only
            the ``'enms'``-kept ones. Defaults to ``'all'``.
        fill_up (str): How Algorithm 2 completes ``b``: ``'sorted'`` takes
            the next images by score (as written); ``'intra'`` first
            re-walks them applying the intra-class test alone, then takes
            the rest by score. Defaults to ``'sorted'``.
    """

    requires = ('labels', 'scores', 'feats')

    def __init__(self,
                 use_enms: bool = True,
                 use_divproto: bool = True,
                 t_enms: float = 0.5,
                 t_intra: float = 0.7,
                 t_inter: float = 0.3,
                 alpha: float = 0.5,
                 beta: float = 0.75,
                 intra: bool = True,
                 inter: bool = True,
                 min_score: float = 0.0,
                 max_dets: Optional[int] = None,
                 proto_from: str = 'all',
                 fill_up: str = 'sorted'):
        if proto_from not in ('all', 'enms'):
            raise ValueError(f"proto_from must be 'all' or 'enms', got "
                             f'{proto_from!r}')
        if fill_up not in ('sorted', 'intra'):
            raise ValueError(f"fill_up must be 'sorted' or 'intra', got "
                             f'{fill_up!r}')
        if not 0 < alpha <= 1 or not 0 < beta <= 1:
            raise ValueError(f'alpha and beta must be in (0, 1], got '
                             f'alpha={alpha}, beta={beta}')
        if max_dets is not None and max_dets < 1:
            raise ValueError(f'max_dets must be >= 1 or None, got {max_dets}')
        self.use_enms = use_enms
        self.use_divproto = use_divproto
        self.t_enms = t_enms
        self.t_intra = t_intra
        self.t_inter = t_inter
        self.alpha = alpha
        self.beta = beta
        self.intra = intra
        self.inter = inter
        self.min_score = min_score
        self.max_dets = max_dets
        self.proto_from = proto_from
        self.fill_up = fill_up
        if not (use_enms or use_divproto):
            self.requires = ('scores', )

    def describe(self) -> dict:
        """The config plus every effective hyper-parameter."""
        out = dict(getattr(self, '_cfg', {'type': type(self).__name__}))
        for key in ('use_enms', 'use_divproto', 't_enms', 't_intra', 't_inter',
                    'alpha', 'beta', 'intra', 'inter', 'min_score', 'max_dets',
                    'proto_from', 'fill_up'):
            out.setdefault(key, getattr(self, key))
        return out

    # -- per image --------------------------------------------------------
    def _detections(self, fields):
        scores = np.asarray(fields['scores'], dtype=np.float64).reshape(-1)
        keep = np.nonzero(scores >= self.min_score)[0]
        if self.max_dets is not None and keep.size > self.max_dets:
            top = np.argsort(-scores[keep], kind='stable')[:self.max_dets]
            keep = np.sort(keep[top])
        return keep, scores[keep]

    def summarize(self, fields: Mapping[str, np.ndarray]) -> Dict[str, object]:
        keep, scores = self._detections(fields)
        ent = binary_entropy(scores)
        out: Dict[str, object] = {}
        if not (self.use_enms or self.use_divproto):
            out['score'] = np.float64(ent.sum())
            return out
        labels = np.asarray(fields['labels'], dtype=np.int64)[keep]
        feats = np.asarray(fields['feats'], dtype=np.float32)
        if feats.ndim != 2 or len(feats) != len(fields['labels']):
            raise ValueError(f'feats must be (N, D) with N = '
                             f'{len(fields["labels"])} detections, got '
                             f'shape {feats.shape}')
        feats = feats[keep]
        kept = enms(labels, ent, feats, self.t_enms) if (
            self.use_enms or self.proto_from == 'enms') else None
        out['score'] = np.float64(
            ent[kept].sum() if self.use_enms else ent.sum())
        if self.use_divproto:
            sub = kept if self.proto_from == 'enms' else slice(None)
            classes, protos = class_prototypes(labels[sub], ent[sub],
                                               feats[sub])
            conf = np.array([scores[labels == c].max() for c in classes],
                            dtype=np.float32)
            out['classes'] = classes.astype(np.int32)
            out['confidence'] = conf
            out['protos'] = unit_rows(protos).astype(np.float16).reshape(
                len(classes), feats.shape[1])
        return out

    # -- per cycle --------------------------------------------------------
    def minority_quotas(self, class_counts: np.ndarray,
                        budget: int) -> Dict[int, int]:
        """Minority classes (the ``max(1, round(alpha * C))`` classes with
        the fewest labeled boxes; the lower class index first on ties) and
        their quotas ``max(1, round(beta * budget / C_minor))``."""
        counts = np.asarray(class_counts)
        n_minor = min(
            len(counts), max(1, int(round(self.alpha * len(counts)))))
        minor = np.argsort(counts, kind='stable')[:n_minor]
        quota = max(1, int(round(self.beta * budget / n_minor)))
        return {int(c): quota for c in minor}

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        scores = np.array([float(summaries[int(i)]['score']) for i in ids])
        ranked = self.top_k(ids, scores, len(ids), rng)
        if not self.use_divproto:
            return Selection(
                ids=ranked.ids[:budget], scores=ranked.scores[:budget])
        picked, stats = self.divproto(ranked.ids, summaries, budget,
                                      context.class_counts)
        score_of = dict(zip(ranked.ids.tolist(), ranked.scores.tolist()))
        return Selection(
            ids=np.asarray(picked, dtype=np.int64),
            scores=np.array([score_of[i] for i in picked]),
            extra=stats)

    def _novel(self, s, memory: _PickedPrototypes) -> bool:
        """``M_g(I_i) < t_intra``: some class of the image is far from
        every prototype of that class picked in this cycle (a class no pick
        has counts as novel; an image without detections has no novel
        class). Classes with the fewest picks are looked at first: the
        answer is the same, found sooner."""
        classes = np.asarray(s['classes'])
        order = sorted(
            range(len(classes)),
            key=lambda j: memory.size.get(int(classes[j]), 0))
        for j in order:
            c = int(classes[j])
            if memory.size.get(c, 0) == 0:
                return True
            proto = np.asarray(s['protos'][j], dtype=np.float32)
            if memory.max_similarity(c, proto) < self.t_intra:
                return True
        return False

    def _remember(self, s, memory: _PickedPrototypes) -> None:
        for c, proto in zip(s['classes'], s['protos']):
            memory.add(int(c), proto.astype(np.float32))

    def divproto(self, ranked: np.ndarray, summaries: Mapping[int, Mapping],
                 budget: int, class_counts: np.ndarray):
        """Algorithm 2 over ``ranked`` (ids by descending score).

        Returns:
            tuple: the picked ids in pick order and a dict of counts
            (``constrained``: picked by the tests, ``filled``: by fill-up,
            ``rejected_intra`` / ``rejected_inter``: walked and refused).
        """
        budget = min(budget, len(ranked))
        dim = 0
        for i in ranked:
            if len(summaries[int(i)]['classes']):
                dim = summaries[int(i)]['protos'].shape[1]
                break
        memory = _PickedPrototypes(dim)
        quotas = (
            self.minority_quotas(class_counts, budget) if self.inter else {})
        picked: List[int] = []
        taken = set()
        stats = dict(rejected_intra=0, rejected_inter=0)
        walked: List[np.ndarray] = []
        for i in ranked.tolist():
            if len(picked) >= budget or (self.inter and not quotas):
                break
            s = summaries[i]
            # Pages of memory-mapped shards stay mapped once read (with
            # large page-cache folios, far more than the prototypes read):
            # drop them now and then, the data stays in the page cache.
            walked.append(s['protos'])
            if len(walked) >= RELEASE_EVERY:
                release_mapped(walked)
                walked.clear()
            if self.inter:
                classes = np.asarray(s['classes'])
                conf = np.asarray(s['confidence'], dtype=np.float64)
                live = np.fromiter((int(c) in quotas for c in classes),
                                   dtype=bool,
                                   count=len(classes))
                if not (live.any() and conf[live].max() > self.t_inter):
                    stats['rejected_inter'] += 1
                    continue
            if self.intra and not self._novel(s, memory):
                stats['rejected_intra'] += 1
                continue
            picked.append(i)
            taken.add(i)
            self._remember(s, memory)
            if self.inter:
                for c in classes[live & (conf > self.t_inter)].tolist():
                    quotas[c] -= 1
                    if quotas[c] == 0:
                        del quotas[c]
        stats['constrained'] = len(picked)
        if self.fill_up == 'intra' and self.intra:
            for i in ranked.tolist():
                if len(picked) >= budget:
                    break
                if i in taken or not self._novel(summaries[i], memory):
                    continue
                picked.append(i)
                taken.add(i)
                self._remember(summaries[i], memory)
        for i in ranked.tolist():
            if len(picked) >= budget:
                break
            if i not in taken:
                picked.append(i)
                taken.add(i)
        stats['filled'] = len(picked) - stats['constrained']
        return picked, stats


@STRATEGIES.register_module(name=['Entropy', 'entropy'])
class Entropy(ENMSDivProto):
    """Table 1 row 1: top-b by basic detection entropy (Eq. 2). Takes
    ``min_score`` and ``max_dets`` like :class:`ENMSDivProto`."""

    def __init__(self, **kwargs):
        super().__init__(**{
            'use_enms': False,
            'use_divproto': False,
            **kwargs
        })


@STRATEGIES.register_module(name=['ENMS', 'enms'])
class ENMS(ENMSDivProto):
    """Table 1 row 2: top-b by ENMS entropy (Algorithm 1)."""

    def __init__(self, **kwargs):
        super().__init__(**{'use_enms': True, 'use_divproto': False, **kwargs})


@STRATEGIES.register_module(name=['DivProto', 'divproto'])
class DivProto(ENMSDivProto):
    """Table 1 row 3: Algorithm 2 over basic detection entropy."""

    def __init__(self, **kwargs):
        super().__init__(**{'use_enms': False, 'use_divproto': True, **kwargs})
