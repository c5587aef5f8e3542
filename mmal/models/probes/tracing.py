"""Tracing detections back to the source (proposal / anchor) that made them.

A kept detection's score is the class probability its source was given by
the head (NMS keeps scores as they are), so a detection of class ``c`` with
score ``s`` comes from the source whose class ``c`` probability equals
``s``. Equal probabilities (saturated scores) are told apart by decoding
the candidates' boxes and taking the one closest to the detection's box.
Score-rewriting post-processing (soft-NMS, score factors) cannot be traced
and is refused.
"""
from typing import Callable

import torch

from mmal.strategies import StrategyError


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
                  source: str = 'source') -> torch.Tensor:
    """Index of the source row of every detection of one image.

    Args:
        probs_fg (Tensor): (M, C) class probabilities of the image's M
            sources.
        sample (DetDataSample): The image's prediction; its
            ``pred_instances`` hold N detections.
        decode (callable): ``decode(rows, classes)`` -> (K, 4) boxes in
            original-image pixels of the (K,) source ``rows`` for the (K,)
            ``classes``; only called for ties.
        score_tol (float): Relative tolerance between a detection's score
            and its source's probability. Defaults to 1e-6.
        source (str): What a source is, for messages. Defaults to
            ``'source'``.

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
    rows = labels.new_zeros(labels.shape)
    for c in labels.unique().tolist():
        dets = torch.nonzero(labels == c).flatten()
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
            _break_ties(rows, dets[ties], close[ties], cand, c, sample, decode,
                        source)
    return rows


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
