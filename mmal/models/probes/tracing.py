"""Tracing detections back to the source (proposal / anchor) that made them.

A kept detection's score is the class probability its source was given by
the head (NMS keeps scores as they are), so a detection of class ``c`` with
score ``s`` comes from the source whose class ``c`` probability equals
``s``. Equal probabilities (saturated scores) are told apart by decoding
the candidates' boxes and taking the one closest to the detection's box.
Score-rewriting post-processing (soft-NMS, score factors) cannot be traced
and is refused.

When a head's boxes do not depend on the class (``agnostic``), every source
is decoded once and a detection is first looked up by its box: the first
source, in source order, whose decoded box equals the detection's box and
whose probability matches its score is the one the full comparison picks
(its box error is 0, the least possible). Detections without such a source
take the full comparison. An untrained detector, whose sources all share
nearly one probability, is then traced in ``O(M log M)`` rather than
``O(N x M)``.
"""
from typing import Callable

import torch

from mmal.strategies import StrategyError

#: Sources with one box key a detection is checked against before it is
#: left to the full comparison (equal boxes are rare: clamped to a border).
_SAME_BOX = 8


def rescale_boxes(boxes: torch.Tensor, sample) -> torch.Tensor:
    """Map (K, 4) boxes of the resized input to original-image pixels, as
    mmdet's ``rescale=True`` does (divide by ``scale_factor``)."""
    scale = sample.metainfo.get('scale_factor')
    if scale is None:
        return boxes
    return boxes / boxes.new_tensor(scale).repeat(2)


def match_sources(probs_fg: torch.Tensor,
                  sample,
                  decode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  score_tol: float = 1e-6,
                  source: str = 'source',
                  agnostic: bool = False) -> torch.Tensor:
    """Index of the source row of every detection of one image.

    Args:
        probs_fg (Tensor): (M, C) class probabilities of the image's M
            sources.
        sample (DetDataSample): The image's prediction; its
            ``pred_instances`` hold N detections.
        decode (callable): ``decode(rows, classes)`` -> (K, 4) boxes in
            original-image pixels of the (K,) source ``rows`` for the (K,)
            ``classes``; only called for ties, unless ``agnostic``.
        score_tol (float): Relative tolerance between a detection's score
            and its source's probability. Defaults to 1e-6.
        source (str): What a source is, for messages. Defaults to
            ``'source'``.
        agnostic (bool): Whether a source's box is the same for every
            class: then all M sources are decoded once (in one call) and
            detections are looked up by their box first. Defaults to False.

    Returns:
        Tensor: (N,) long, the row of ``probs_fg`` of each detection.

    Raises:
        StrategyError: If a detection's score is no source's probability.
    """
    pred = sample.pred_instances
    labels, scores = pred.labels, pred.scores.float()
    if labels.numel() == 0:
        return labels.new_zeros((0, ))
    if probs_fg.shape[0] == 0:
        raise RuntimeError('probe: detections without any source')
    tol = score_tol * scores.abs() + 1e-12
    rows = labels.new_full(labels.shape, -1)
    boxes_of = decode
    if agnostic:
        every = torch.arange(probs_fg.shape[0], device=labels.device)
        boxes = decode(every, labels.new_zeros(every.shape))
        boxes_of = lambda options, c: boxes[options]  # noqa: E731
        _match_by_box(rows, boxes, probs_fg, pred, scores, tol)
    for c in labels[rows < 0].unique().tolist():
        dets = torch.nonzero((labels == c) & (rows < 0)).flatten()
        col = probs_fg[:, c].float()
        # only sources at least as likely as the least likely detection of
        # the class can be sources (few, for a trained detector)
        cand = torch.nonzero(col >= (scores[dets] - tol[dets]).min()).flatten()
        close = (col[cand][None] - scores[dets][:, None]).abs() <= \
            tol[dets][:, None]
        hits = close.sum(dim=1)
        single = hits == 1
        if single.any():  # the usual case: one source, no loop
            rows[dets[single]] = cand[close[single].float().argmax(1)]
        ties = torch.nonzero(~single).flatten()
        if ties.numel():
            _break_ties(rows, dets[ties], close[ties], cand, c, sample,
                        boxes_of, source)
    return rows


def _box_keys(boxes: torch.Tensor) -> torch.Tensor:
    """(K,) int64 hash of (K, 4) finite boxes: equal boxes get equal keys
    (``-0.0`` and ``0.0`` alike); unequal ones almost never do, and
    :func:`_match_by_box` compares the boxes themselves anyway."""
    bits = (boxes.double() + 0.0).view(torch.int64)  # exact, injective
    key = bits[:, 0]
    for j in range(1, 4):
        key = key * 1000003 + bits[:, j]  # wraps around: a hash
    return key


def _match_by_box(rows: torch.Tensor, boxes: torch.Tensor,
                  probs_fg: torch.Tensor, pred, scores: torch.Tensor,
                  tol: torch.Tensor) -> None:
    """Set ``rows`` of the detections whose box is some source's decoded
    box (``boxes``: M x 4, every source) with a matching probability: the
    first such source in source order, which is what the full comparison
    picks (box error 0, first of equally near). The others stay -1."""
    if not bool(torch.isfinite(boxes).all()):
        return  # NaN / inf errors: only the full comparison is exact
    det = pred.bboxes.to(boxes)
    fine = torch.isfinite(det).all(dim=1)
    keys, order = torch.sort(_box_keys(boxes), stable=True)
    det_keys = _box_keys(det.masked_fill(~fine[:, None], 0))
    lo = torch.searchsorted(keys, det_keys)
    hi = torch.searchsorted(keys, det_keys, right=True)
    pending = torch.nonzero(fine & (hi > lo)).flatten()
    labels = pred.labels
    for k in range(_SAME_BOX):
        pending = pending[lo[pending] + k < hi[pending]]
        if pending.numel() == 0:
            break
        src = order[lo[pending] + k]
        same = (boxes[src] == det[pending]).all(dim=1)
        near = (probs_fg[src, labels[pending]].float() -
                scores[pending]).abs() <= tol[pending]
        hit = same & near
        rows[pending[hit]] = src[hit]
        pending = pending[~hit]


#: Tied detections whose (detections x options) box errors are computed at
#: once; bounds that matrix's memory.
_TIE_CHUNK = 256


def _break_ties(rows: torch.Tensor, tied: torch.Tensor, close: torch.Tensor,
                cand: torch.Tensor, c: int, sample, decode: Callable,
                source: str) -> None:
    """Give each of the ``tied`` detections of class ``c`` the source with
    the nearest box among those with its probability (``close``: tied x
    candidates). The candidates any of them may come from are decoded once
    (an untrained YOLOX ties thousands of points for every detection)."""
    pred = sample.pred_instances
    found = close.any(dim=1)
    if not found.all():
        d = int(tied[torch.nonzero(~found)[0, 0]])
        raise StrategyError(
            f'probe: cannot trace detection {d} (class {c}, score '
            f'{float(pred.scores[d]):.6f}) of image '
            f'{sample.metainfo.get("img_path")} to a {source} with '
            'that probability; the test_cfg rewrites scores '
            '(soft-NMS or score factors), which probes do not '
            'support')
    used = close.any(dim=0)
    options = cand[used]
    close = close[:, used]
    # equal probabilities: the source with the nearest box (the first of
    # equally near ones, in source order)
    boxes = decode(options, pred.labels.new_full((options.numel(), ), c))
    for lo in range(0, tied.numel(), _TIE_CHUNK):
        part = tied[lo:lo + _TIE_CHUNK]
        err = (boxes[None] - pred.bboxes[part].to(boxes)[:, None]).abs().sum(2)
        err = err.masked_fill(~close[lo:lo + _TIE_CHUNK], float('inf'))
        rows[part] = options[err.argmin(dim=1)]
