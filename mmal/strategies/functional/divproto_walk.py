"""DivProto's Algorithm 2 (Wu, Chen and Huang, CVPR 2022): walk the images
by score and accept one when it brings a class whose prototype is not yet
represented among this cycle's picks (Eq. 4) and it likely contains a
minority class with quota left (Eq. 5); then fill up."""
from typing import Dict, List, Mapping, Sequence

import numpy as np


class PickedPrototypes:
    """Unit prototypes of the images picked so far, grouped by class, in
    growable buffers (one matrix product per class and candidate).

    Args:
        dim (int): D.
    """

    def __init__(self, dim: int):
        self.dim = dim
        self.buf: Dict[int, np.ndarray] = {}
        self.size: Dict[int, int] = {}

    def max_similarity(self, c: int, proto: np.ndarray) -> float:
        """The largest cosine of ``proto`` (D,) with the picked prototypes
        of class ``c`` (``-inf`` when there are none)."""
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

    def is_novel(self, s: Mapping, t_intra: float) -> bool:
        """``M_g(I_i) < t_intra``: some class of the image summary ``s``
        (``classes`` (K,), ``protos`` (K, D)) is far from every picked
        prototype of that class (a class no pick has counts as novel; an
        image without detections has no novel class). Classes with the
        fewest picks are looked at first: the answer is the same, found
        sooner."""
        classes = np.asarray(s['classes'])
        order = sorted(
            range(len(classes)),
            key=lambda j: self.size.get(int(classes[j]), 0))
        for j in order:
            c = int(classes[j])
            if self.size.get(c, 0) == 0:
                return True
            proto = np.asarray(s['protos'][j], dtype=np.float32)
            if self.max_similarity(c, proto) < t_intra:
                return True
        return False

    def remember(self, s: Mapping) -> None:
        """Add the prototypes of the image summary ``s``."""
        for c, proto in zip(s['classes'], s['protos']):
            self.add(int(c), np.asarray(proto, dtype=np.float32))


def minority_quotas(class_counts: np.ndarray, budget: int, alpha: float,
                    beta: float) -> Dict[int, int]:
    """Minority classes (the ``max(1, round(alpha * C))`` classes with the
    fewest labeled boxes; the lower class index first on ties) and their
    quotas ``max(1, round(beta * budget / C_minor))``."""
    counts = np.asarray(class_counts)
    n_minor = min(len(counts), max(1, int(round(alpha * len(counts)))))
    minor = np.argsort(counts, kind='stable')[:n_minor]
    quota = max(1, int(round(beta * budget / n_minor)))
    return {int(c): quota for c in minor}


def divproto_walk(summaries,
                  ranked: Sequence[int],
                  budget: int,
                  class_counts: np.ndarray,
                  t_intra: float = 0.7,
                  t_inter: float = 0.3,
                  alpha: float = 0.5,
                  beta: float = 0.75,
                  intra: bool = True,
                  inter: bool = True,
                  fill_up: str = 'sorted'):
    """Algorithm 2 over ``ranked`` image positions (descending score).

    Args:
        summaries (Summaries): Per image ``classes`` (K,), ``confidence``
            (K,) (the class's highest score) and unit ``protos`` (K, D).
        ranked (Sequence[int]): Positions in ``summaries``, best first.
        budget (int): Images to pick.
        class_counts (np.ndarray): (C,) labeled boxes per class.
        t_intra (float): Reject when ``M_g >= t_intra``.
        t_inter (float): Accept when ``M_p > t_inter``.
        alpha (float): Share of classes that are minority classes.
        beta (float): Share of the budget reserved for them.
        intra (bool): Apply the intra-class test (Eq. 4).
        inter (bool): Apply the inter-class test and quotas (Eq. 5).
        fill_up (str): ``'sorted'``: the next images by score;
            ``'intra'``: first those passing the intra-class test alone.

    Returns:
        tuple: picked positions in pick order and a dict of counts
        (``constrained``, ``filled``, ``rejected_intra``,
        ``rejected_inter``).
    """
    ranked = [int(p) for p in ranked]
    budget = min(budget, len(ranked))
    protos = summaries.lengths('classes')
    dim = 0
    for p in ranked:
        if protos[p]:
            dim = summaries.image(p)['protos'].shape[1]
            break
    memory = PickedPrototypes(dim)
    quotas = minority_quotas(class_counts, budget, alpha,
                             beta) if inter else {}
    picked: List[int] = []
    taken = set()
    stats = dict(rejected_intra=0, rejected_inter=0)
    for p, s in summaries.walk(ranked):
        if len(picked) >= budget or (inter and not quotas):
            break
        if inter:
            classes = np.asarray(s['classes'])
            conf = np.asarray(s['confidence'], dtype=np.float64)
            live = np.fromiter((int(c) in quotas for c in classes),
                               dtype=bool,
                               count=len(classes))
            if not (live.any() and conf[live].max() > t_inter):
                stats['rejected_inter'] += 1
                continue
        if intra and not memory.is_novel(s, t_intra):
            stats['rejected_intra'] += 1
            continue
        picked.append(p)
        taken.add(p)
        memory.remember(s)
        if inter:
            for c in classes[live & (conf > t_inter)].tolist():
                quotas[c] -= 1
                if quotas[c] == 0:
                    del quotas[c]
    stats['constrained'] = len(picked)
    if fill_up == 'intra' and intra:
        for p, s in summaries.walk([q for q in ranked if q not in taken]):
            if len(picked) >= budget:
                break
            if not memory.is_novel(s, t_intra):
                continue
            picked.append(p)
            taken.add(p)
            memory.remember(s)
    for p in ranked:
        if len(picked) >= budget:
            break
        if p not in taken:
            picked.append(p)
            taken.add(p)
    stats['filled'] = len(picked) - stats['constrained']
    return picked, stats
