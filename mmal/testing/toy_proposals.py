"""Toy object proposals: a fast pixel-grouping generator (a simplified
selective search) and the proposal files of the toy dataset.

:func:`toy_proposals` runs on any RGB image in milliseconds (no OpenCV
contrib build needed); :func:`make_toy_proposals` writes the proposal
``.npz`` (:mod:`mmal.datasets.proposal_file`) of every split of a toy
dataset, which the weakly-supervised toy configs read.

Example:
    >>> from mmal.testing import make_toy_benchmark, make_toy_proposals
    >>> ann_files = make_toy_benchmark('data/toy')
    >>> paths = make_toy_proposals('data/toy', ann_files)
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmal.datasets.proposal_file import read_proposal_meta, save_proposals
from mmal.datasets.transforms.proposal_transforms import (clean_proposals,
                                                          clip_boxes)
from mmal.utils.file_lock import file_lock

TOY_PROPOSALS_VERSION = 1


def _as_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f'img: expected an (H, W, 3) RGB image, got shape '
                         f'{img.shape}')
    img = img[:, :, :3]
    if img.dtype != np.uint8:
        scale = 255.0 if img.dtype.kind == 'f' and img.max() <= 1.0 else 1.0
        img = np.clip(img * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _box_sums(integral: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Sums of a map over integer boxes via its integral image."""
    x1, y1, x2, y2 = boxes.T
    return (integral[y2, x2] - integral[y1, x2] - integral[y2, x1] +
            integral[y1, x1])


def _objectness(saliency: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Centre-surround contrast: mean saliency inside a box minus the mean
    in a ring around it (half the box size wide)."""
    h, w = saliency.shape
    integral = cv2.integral(saliency.astype(np.float32), sdepth=cv2.CV_64F)
    inner = np.round(boxes).astype(np.int64)
    inner[:, 0::2] = inner[:, 0::2].clip(0, w)
    inner[:, 1::2] = inner[:, 1::2].clip(0, h)
    inner[:, 2:] = np.maximum(inner[:, 2:], inner[:, :2] + 1).clip(max=[w, h])
    inner[:, :2] = np.minimum(inner[:, :2], inner[:, 2:] - 1)
    size = inner[:, 2:] - inner[:, :2]
    outer = np.concatenate(
        [inner[:, :2] - size // 4, inner[:, 2:] + size // 4], axis=1)
    outer[:, 0::2] = outer[:, 0::2].clip(0, w)
    outer[:, 1::2] = outer[:, 1::2].clip(0, h)
    area_in = np.prod(size, axis=1).astype(np.float64)
    area_out = np.prod(outer[:, 2:] - outer[:, :2], axis=1) - area_in
    sum_in = _box_sums(integral, inner)
    sum_out = _box_sums(integral, outer) - sum_in
    ring = np.where(area_out > 0, sum_out / np.maximum(area_out, 1), 0)
    return sum_in / area_in - ring


def _saliency(img: np.ndarray) -> Tuple[np.ndarray, np.ndarray, float]:
    """Colour distance of the smoothed and raw image from a background
    estimate (a large median), and the background noise level."""
    h, w = img.shape[:2]
    small = cv2.resize(
        img, (max(8, w // 4), max(8, h // 4)), interpolation=cv2.INTER_AREA)
    ksize = 2 * (min(small.shape[:2]) // 6) + 1
    bg = cv2.medianBlur(small, max(3, ksize))
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    bg = bg.astype(np.float32)
    smooth = cv2.blur(img, (3, 3)).astype(np.float32)
    dist = np.sqrt(((smooth - bg)**2).sum(axis=2))
    raw = np.sqrt(((img.astype(np.float32) - bg)**2).sum(axis=2))
    noise = max(float(np.median(dist)), 2.0)
    return dist, raw, noise


def _flat_mask(img: np.ndarray, tol: int) -> np.ndarray:
    """Pixels whose 4 neighbours all have (almost) the same colour."""
    px = img.astype(np.int16)
    dx = np.abs(px[:, 1:] - px[:, :-1]).max(axis=2) > tol
    dy = np.abs(px[1:] - px[:-1]).max(axis=2) > tol
    edge = np.zeros(img.shape[:2], bool)
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    return ~edge


def _label_stats(labels: np.ndarray, num: int,
                 img: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Per label 1..num-1: box (x1 y1 x2 y2, exclusive), size, mean
    colour."""
    flat = labels.ravel()
    sel = flat > 0
    lab = flat[sel]
    ys, xs = np.divmod(np.nonzero(sel)[0], labels.shape[1])
    size = np.bincount(lab, minlength=num)[1:].astype(np.float64)
    boxes = np.zeros((num - 1, 4), np.int64)
    for k, (coord, fn) in enumerate(((xs, np.minimum), (ys, np.minimum),
                                     (xs, np.maximum), (ys, np.maximum))):
        init = np.full(num, 1 << 30 if fn is np.minimum else -1, np.int64)
        fn.at(init, lab, coord)
        boxes[:, k] = init[1:]
    boxes[:, 2:] += 1
    sums = [
        np.bincount(lab, weights=img[:, :, c].ravel()[sel], minlength=num)[1:]
        for c in range(3)
    ]
    colour = np.stack(sums, axis=1) / np.maximum(size, 1)[:, None]
    return boxes, size, colour


def _segments(
    img: np.ndarray, dist: np.ndarray, raw: np.ndarray, noise: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[np.ndarray]]:
    """Initial regions: flat-colour foreground segments (grown back over
    their borders), and the boxes of foreground blobs at several contrast
    levels."""
    h, w = dist.shape
    min_area = max(4, int(h * w * 2e-4))
    blob_boxes = []
    for level in (4, 8, 16):
        fg = (dist > noise * level).astype(np.uint8)
        num, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        stats = stats[1:]
        stats = stats[stats[:, cv2.CC_STAT_AREA] >= min_area]
        blob_boxes.append(
            np.concatenate([stats[:, :2], stats[:, :2] + stats[:, 2:4]],
                           axis=1))
    fg = dist > noise * 4
    seeds = (fg & _flat_mask(img, 3)).astype(np.uint8)
    num, labels = cv2.connectedComponents(seeds, connectivity=4)
    if num > 1:
        sizes = np.bincount(labels.ravel(), minlength=num)
        labels[sizes[labels] < min_area] = 0
        # Grow the seeds over the (non-flat) rims of their objects.
        grow = fg | (raw > noise * 6)
        lab = labels.astype(np.float32)
        kernel = np.ones((3, 3), np.uint8)
        for _ in range(2):
            dil = cv2.dilate(lab, kernel)
            lab = np.where((lab == 0) & grow, dil, lab)
        labels = lab.astype(np.int32)
        used, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(h, w)
        if used[0] != 0:
            labels += 1
        num = int(labels.max()) + 1
    if num <= 1:
        return (np.zeros((0, 4), np.int64), np.zeros(0), np.zeros(
            (0, 3)), blob_boxes)
    boxes, size, colour = _label_stats(labels, num, img)
    return boxes, size, colour, blob_boxes


def _group(boxes: np.ndarray, size: np.ndarray, colour: np.ndarray,
           img_area: float, colour_weight: float, gap_norm: float,
           max_regions: int) -> np.ndarray:
    """Greedy hierarchical grouping (as selective search): repeatedly merge
    the cheapest pair (mean-colour distance, area of the union box, which is
    selective search's size + fill term, and the gap between the boxes) and
    emit the union box of every merge. At most ``max_regions`` (the largest)
    take part."""
    if len(boxes) > max_regions:
        keep = np.argsort(-size, kind='stable')[:max_regions]
        boxes, size, colour = boxes[keep], size[keep], colour[keep]
    boxes = boxes.astype(np.float64)
    size = size.astype(np.float64)
    colour = colour.astype(np.float64)
    n = len(boxes)
    if n < 2:
        return np.zeros((0, 4))

    def costs(rows):
        """(len(rows), n) merge costs of regions ``rows`` with all."""
        b, c = boxes[rows, None], colour[rows, None]
        lo = np.minimum(b[..., :2], boxes[:, :2])
        hi = np.maximum(b[..., 2:], boxes[:, 2:])
        union = np.prod(hi - lo, axis=-1)
        gap = (np.maximum(b[..., :2], boxes[:, :2]) -
               np.minimum(b[..., 2:], boxes[:, 2:])).max(axis=-1)
        diff = np.sqrt(((colour - c)**2).sum(axis=-1))
        return (colour_weight / 255 * diff + union / img_area +
                np.maximum(gap, 0) / gap_norm)

    # size_i + size_j + (union - size_i - size_j) reduces to the union box
    # area: small, compact pairs merge first, as in selective search.
    cost = costs(np.arange(n))
    np.fill_diagonal(cost, np.inf)
    out = []
    for _ in range(n - 1):
        i, j = divmod(int(np.argmin(cost)), n)
        if not np.isfinite(cost[i, j]):
            break
        total = size[i] + size[j]
        colour[i] = (colour[i] * size[i] + colour[j] * size[j]) / total
        size[i] = total
        boxes[i, :2] = np.minimum(boxes[i, :2], boxes[j, :2])
        boxes[i, 2:] = np.maximum(boxes[i, 2:], boxes[j, 2:])
        row = costs(np.array([i]))[0]
        row[~np.isfinite(cost[i])] = np.inf  # dead regions, itself
        row[j] = np.inf
        cost[j] = np.inf
        cost[:, j] = np.inf
        cost[i] = row
        cost[:, i] = row
        out.append(boxes[i].copy())
    return np.array(out, np.float64).reshape(-1, 4)


def _split_parts(boxes: np.ndarray) -> np.ndarray:
    """Equal parts of elongated boxes (rows of touching objects)."""
    out = []
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        if min(w, h) <= 0:
            continue
        ratio = max(w, h) / min(w, h)
        for k in range(2, min(4, int(round(ratio))) + 1):
            if w >= h:
                step = w / k
                out += [[x1 + i * step, y1, x1 + (i + 1) * step, y2]
                        for i in range(k)]
            else:
                step = h / k
                out += [[x1, y1 + i * step, x2, y1 + (i + 1) * step]
                        for i in range(k)]
    return np.array(out, np.float64).reshape(-1, 4)


def _grid(h: int, w: int) -> np.ndarray:
    """Windows of 1/4, 1/2 and 3/4 of the image side, half-overlapping, and
    the whole image."""
    out = [[0, 0, w, h]]
    for frac in (0.25, 0.5, 0.75):
        bw, bh = w * frac, h * frac
        xs = np.linspace(0, w - bw, int(np.ceil((w - bw) / (bw / 2))) + 1)
        ys = np.linspace(0, h - bh, int(np.ceil((h - bh) / (bh / 2))) + 1)
        out += [[x, y, x + bw, y + bh] for y in ys for x in xs]
    return np.array(out, np.float64)


def _jitter(boxes: np.ndarray, copies: int,
            rng: np.random.Generator) -> np.ndarray:
    """``copies`` randomly shifted and rescaled versions of each box
    (10-30% of its size)."""
    if copies <= 0 or len(boxes) == 0:
        return np.zeros((0, 4))
    base = np.repeat(boxes, copies, axis=0)
    size = base[:, 2:] - base[:, :2]
    centre = (base[:, :2] + base[:, 2:]) / 2
    mag = rng.uniform(0.1, 0.3, size=(len(base), 1))
    sign = rng.choice([-1.0, 1.0], size=(len(base), 2))
    kind = rng.integers(0, 3, size=(len(base), 1))  # shift, scale, both
    shift = np.where(kind != 1, sign * mag * size, 0)
    scale = np.where(kind != 0,
                     1 + rng.uniform(-1, 1, size=(len(base), 2)) * mag, 1)
    half = size * scale / 2
    centre = centre + shift
    return np.concatenate([centre - half, centre + half], axis=1)


def toy_proposals(
    img: np.ndarray,
    max_proposals: int = 300,
    rng: Optional[np.random.Generator] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Object proposals from the pixels of one image (a simplified
    selective search), fast enough to run over a dataset in seconds.

    Made for the toy dataset (flat coloured shapes on a noisy background) but
    runs on any RGB image: foreground is colour distance from a large-median
    background; initial regions are flat-colour foreground segments and
    foreground blobs at three contrast levels; a greedy hierarchical
    grouping (two similarity mixes) adds the union boxes of neighbouring
    regions (whole groups and parts); equal parts of elongated regions,
    jittered copies of the region boxes and a multi-scale grid of windows
    (background boxes) fill the budget. Boxes are cleaned with
    :func:`clean_proposals` and ordered region boxes first, each tier by
    centre-surround contrast.

    Args:
        img (np.ndarray): (H, W, 3) RGB image (uint8, or float in [0, 1]).
        max_proposals (int): Most boxes returned. Defaults to 300.
        rng (np.random.Generator, optional): Randomness of the jitter; the
            same seed gives the same boxes. Defaults to a generator seeded
            with 0.

    Returns:
        tuple: float32 (N, 4) x1 y1 x2 y2 boxes in pixels of ``img`` and
        float32 (N,) scores in [0, 1], N <= ``max_proposals``.
    """
    if max_proposals < 1:
        raise ValueError(f'max_proposals must be >= 1, got {max_proposals}')
    rng = np.random.default_rng(0) if rng is None else rng
    img = _as_rgb(img)
    h0, w0 = img.shape[:2]
    scale = min(1.0, 256 / max(h0, w0))
    if scale < 1:
        img = cv2.resize(
            img, (max(1, round(w0 * scale)), max(1, round(h0 * scale))),
            interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    dist, raw, noise = _saliency(img)
    seg_boxes, size, colour, blob_boxes = _segments(img, dist, raw, noise)
    area = float(h * w)
    grouped = [
        _group(seg_boxes, size, colour, area, weight, 0.05 * max(h, w), 64)
        for weight in (2.0, 0.0)
    ]
    regions = np.concatenate([seg_boxes.astype(np.float64)] + blob_boxes +
                             grouped).reshape(-1, 4)
    regions = np.concatenate([regions, _split_parts(regions)])
    grid = _grid(h, w)
    keep = clean_proposals(regions, (h, w))
    regions = regions[keep]
    copies = int(
        np.clip(
            (max_proposals - len(regions) - len(grid)) // max(1, len(regions)),
            1, 6))
    extra = np.concatenate([_jitter(regions, copies, rng), grid])
    saliency = np.minimum(dist / max(noise * 16, 1.0), 1.0)
    tiers = []
    for tier, boxes in enumerate((regions, extra)):
        boxes = clip_boxes(boxes, (h, w))
        obj = _objectness(saliency, boxes)
        order = np.argsort(-obj, kind='stable')
        tiers.append((boxes[order], obj[order]))
    boxes = np.concatenate([t[0] for t in tiers])
    obj = np.concatenate([t[1] for t in tiers])
    keep = clean_proposals(boxes, (h, w))[:max_proposals]
    boxes = clip_boxes(boxes[keep] / scale, (h0, w0))
    scores = (np.clip(obj[keep], -1, 1) + 1) / 2
    return boxes.astype(np.float32), scores.astype(np.float32)


def _coco_images(ann_file: str) -> List[dict]:
    with open(ann_file) as f:
        return json.load(f)['images']


def make_toy_proposals(
        data_root: str,
        ann_files: Dict[str, str],
        out_name: str = 'proposals_{split}.npz',
        max_proposals: int = 300,
        seed: int = 0,
        force: bool = False,
        img_dirs: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Make (or reuse) :func:`toy_proposals` for each split of a dataset.

    Proposals go to ``{data_root}/proposals/{out_name}``. A file newer than
    its json that records the same generator version, seed and
    ``max_proposals`` is kept. Each image gets its own random stream
    (``seed``, image id), so results do not depend on the image order.

    Args:
        data_root (str): Dataset root, e.g. ``data/toy``.
        ann_files (dict): Split -> COCO annotation json.
        out_name (str): File name pattern with ``{split}``. Defaults to
            ``'proposals_{split}.npz'``.
        max_proposals (int): Boxes per image at most. Defaults to 300.
        seed (int): Seed of the jitter. Defaults to 0.
        force (bool): Regenerate even when up to date. Defaults to False.
        img_dirs (dict, optional): Split -> image folder; defaults to
            ``{data_root}/{split}`` (the toy dataset's layout).

    Returns:
        dict: Split -> proposal ``.npz`` path.
    """
    from tqdm import tqdm

    out_dir = osp.join(data_root, 'proposals')
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(
        generator='toy_proposals',
        version=TOY_PROPOSALS_VERSION,
        seed=seed,
        max_proposals=max_proposals)
    paths = {}
    # Several processes (one per GPU) may ask at once: one writes, the
    # others wait for the lock and then find the file up to date.
    with file_lock(osp.join(out_dir, '.generate.lock')):
        for split, ann_file in ann_files.items():
            out = osp.join(out_dir, out_name.format(split=split))
            paths[split] = out
            if not force and _up_to_date(out, ann_file, meta):
                continue
            images = _coco_images(ann_file)
            img_dir = (img_dirs or {}).get(split, osp.join(data_root, split))
            boxes, scores = [], []
            for info in tqdm(images, desc=f'toy proposals ({split})'):
                img_path = osp.join(img_dir, info['file_name'])
                img = cv2.imread(img_path, cv2.IMREAD_COLOR)
                if img is None:
                    raise FileNotFoundError(f'{img_path}: cannot read image '
                                            f'(listed in {ann_file})')
                rng = np.random.default_rng([seed, int(info['id'])])
                b, s = toy_proposals(img[:, :, ::-1], max_proposals, rng)
                boxes.append(b)
                scores.append(s)
            save_proposals(
                out, [info['id'] for info in images],
                boxes,
                scores,
                file_names=[info['file_name'] for info in images],
                meta=meta)
    return paths


def _up_to_date(out: str, ann_file: str, meta: dict) -> bool:
    try:
        if osp.getmtime(out) < osp.getmtime(ann_file):
            return False
        return read_proposal_meta(out) == meta
    except (OSError, ValueError):
        return False
