"""BiB, "box-in-box" acquisition for weakly-supervised detectors (Vo et al.,
ECCV 2022), and its Table 8 variants U(BiB) and U+BiB.

A weak detector often boxes a part of an object (the small box) and, in the
same image, the object or a group of objects (the large box) for the same
class. Such a box-in-box pair flags a confusion that full annotation of
the image resolves. BiB finds the pairs of every pool image inside
``summarize`` and then picks images whose pairs are diverse: k-means++
seeding over pair features, where choosing a pair makes every pair of its
image a centre.

Pair features are concatenations of the two boxes' instance features (the
fc7 RoI features of MIST: 2 x 4096 = 8192-d), stored in fp16 in the
summary shards. ``select`` never holds all of them in memory: it walks the
shards' memory-mapped pair matrix in blocks of ``block_size`` rows, once
per pick, keeping one vector of nearest-centre distances (see
``docs/strategies/bib.md`` and ``docs/benchmarks.md``).
"""
import math
import warnings
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from mmal.registry import STRATEGIES
from .base_strategy import (BaseStrategy, Selection, SelectionContext,
                            StrategyError)
from .core_set import nearest_center_distances, pick_device, release_mapped

PAIRING = ('all', 'first')
SAMPLING = ('squared', 'linear')
FILL_UP = ('random', )


def box_in_box_pairs(bboxes: np.ndarray,
                     labels: np.ndarray,
                     mu: float = 3.0,
                     delta: float = 0.8,
                     pairing: str = 'all') -> Tuple[np.ndarray, np.ndarray]:
    """Box-in-box pairs among one image's detections (BiB Eq. 1).

    Detection ``i`` (small) and ``j`` (large) form a pair when they have the
    same label, ``area(j) >= mu * area(i)`` and
    ``area(i & j) / area(i) >= delta``.

    Args:
        bboxes (np.ndarray): (N, 4) x1 y1 x2 y2.
        labels (np.ndarray): (N,) class of each box.
        mu (float): Minimum area ratio large / small. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            one. Defaults to 0.8.
        pairing (str): ``'all'``: every qualifying large box of a small box
            (the paper); ``'first'``: only the first one in detection order,
            i.e. the highest-scored (the official code). Defaults to 'all'.

    Returns:
        tuple: ``small`` and ``large`` (P,) indices into the detections,
        sorted by small then large index.
    """
    if pairing not in PAIRING:
        raise ValueError(f'pairing must be one of {PAIRING}, got '
                         f'{pairing!r}')
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    lab = np.asarray(labels).reshape(-1)
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(
        b[:, 3] - b[:, 1], 0, None)
    iw = np.clip(
        np.minimum(b[:, None, 2], b[None, :, 2]) -
        np.maximum(b[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(
        np.minimum(b[:, None, 3], b[None, :, 3]) -
        np.maximum(b[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    with np.errstate(divide='ignore', invalid='ignore'):
        cover = np.where(area[:, None] > 0, inter / area[:, None], 0.0)
    ok = ((lab[:, None] == lab[None, :]) &
          (area[None, :] >= mu * area[:, None])
          & (cover >= delta) & (area[:, None] > 0))
    np.fill_diagonal(ok, False)
    if pairing == 'first' and ok.size:
        first = ok.argmax(axis=1)
        keep = np.zeros_like(ok)
        rows = np.flatnonzero(ok.any(axis=1))
        keep[rows, first[rows]] = True
        ok = keep
    small, large = np.nonzero(ok)
    return small.astype(np.int64), large.astype(np.int64)


class PairMatrix:
    """The pair features of many images as one (P, F) matrix read in
    blocks of at most ``block_size`` rows.

    Summaries read back from shards are memory-mapped views, and the views
    of consecutive images of a shard are consecutive in the file: they are
    merged into a few large views, and nothing is copied into memory until
    a block is used. In-memory summaries (e.g. from
    :func:`mmal.apis.select_images`) are gathered into blocks once. On a
    GPU with room for them (half its free memory), the blocks are uploaded
    once, in their own dtype (fp16), and every later pass reads them there.

    Args:
        arrays (Sequence[np.ndarray]): (P_i, F) pair features per image.
        block_size (int): Rows per block. Defaults to 8192.
    """

    def __init__(self, arrays: Sequence[np.ndarray], block_size: int = 8192):
        self.block_size = max(1, int(block_size))
        self.dim = 0
        runs: List[np.ndarray] = []
        small: List[np.ndarray] = []  # in-memory arrays waiting for a block

        def gather():
            if small:
                runs.append(np.concatenate(small))
                small.clear()

        for a in arrays:
            if a.ndim != 2 or not len(a):
                continue
            if self.dim and a.shape[1] != self.dim:
                raise StrategyError(f'BiB: pair features of size '
                                    f'{a.shape[1]} and {self.dim} in one pool')
            self.dim = a.shape[1]
            if getattr(a, '_mmap', None) is None:
                small.append(a)
                if sum(len(b) for b in small) >= self.block_size:
                    gather()
                continue
            gather()
            if runs and _follows(runs[-1], a):
                runs[-1] = _extend(runs[-1], len(a))
            else:
                runs.append(a)
        gather()
        self.blocks: List[np.ndarray] = []
        for r in runs:
            for s in range(0, len(r), self.block_size):
                self.blocks.append(r[s:s + self.block_size])
        sizes = np.array([len(b) for b in self.blocks], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.num_rows = int(self.starts[-1])
        self._resident: Optional[List[torch.Tensor]] = None

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` of the matrix, as a float32 array."""
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((len(index), self.dim), dtype=np.float32)
        block = np.searchsorted(self.starts, index, side='right') - 1
        for k, (b, i) in enumerate(zip(block, index)):
            out[k] = self.blocks[b][i - self.starts[b]]
        return out

    def _upload(self, device: torch.device) -> bool:
        """Keep the blocks on ``device`` when it is a GPU with room."""
        if self._resident is not None:
            return True
        if device.type != 'cuda':
            return False
        nbytes = sum(b.nbytes for b in self.blocks)
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > free // 2:
            return False
        self._resident = []
        for block in self.blocks:
            self._resident.append(torch.from_numpy(np.array(block)).to(device))
            release_mapped([block])
        return True

    def iter_blocks(self, device: torch.device):
        """``(start, x)`` per block, ``x`` a float32 tensor on ``device``;
        the pages of each block are released after use."""
        if self._upload(device):
            for start, x in zip(self.starts[:-1], self._resident):
                yield int(start), x.float()
            return
        for start, block in zip(self.starts[:-1], self.blocks):
            with warnings.catch_warnings():  # read-only maps: only read
                warnings.simplefilter('ignore', UserWarning)
                x = torch.from_numpy(np.asarray(block))
            yield int(start), x.to(device, torch.float32)
            release_mapped([block])


def _data_address(a: np.ndarray) -> int:
    return a.__array_interface__['data'][0]


def _follows(run: np.ndarray, a: np.ndarray) -> bool:
    """Whether ``a`` starts in the same file mapping right after ``run``."""
    m = getattr(run, '_mmap', None)
    return (m is not None and getattr(a, '_mmap', None) is m
            and run.flags.c_contiguous and a.flags.c_contiguous
            and run.dtype == a.dtype and run.shape[1] == a.shape[1]
            and _data_address(a) == _data_address(run) + run.nbytes)


def _extend(run: np.ndarray, rows: int) -> np.ndarray:
    """``run`` grown by ``rows`` rows of the same mapping (checked by
    :func:`_follows`)."""
    base = np.frombuffer(run._mmap, dtype=np.uint8)
    offset = _data_address(run) - _data_address(base)
    view = np.ndarray((len(run) + rows, run.shape[1]),
                      dtype=run.dtype,
                      buffer=run._mmap,
                      offset=offset)
    view = view.view(np.memmap)
    view._mmap = run._mmap
    return view


@torch.no_grad()
def kmeanspp_images(pairs: PairMatrix,
                    pair_image: np.ndarray,
                    num_images: int,
                    budget: int,
                    rng: np.random.Generator,
                    centers: Optional[np.ndarray] = None,
                    preselected: Sequence[int] = (),
                    sampling: str = 'squared',
                    local_trials: Optional[int] = None,
                    device: str = 'auto') -> Tuple[List[int], List[float]]:
    """k-means++ seeding over pairs, where every pick is an image: choosing
    a pair makes all pairs of its image centres.

    Args:
        pairs (PairMatrix): (P, F) features of the candidate pairs.
        pair_image (np.ndarray): (P,) image index in ``[0, num_images)`` of
            each pair.
        num_images (int): Candidate images (with or without pairs).
        budget (int): Images to pick (fewer when the pairs run out).
        rng (np.random.Generator): Draws the candidates and breaks the
            first pick's tie.
        centers (np.ndarray, optional): (L, F) initial centres (the pairs
            of previously selected images).
        preselected (Sequence[int]): Images already picked in this
            selection (e.g. U+BiB's random half): their pairs are centres.
        sampling (str): Draw a pair with probability proportional to its
            ``'squared'`` distance to the nearest centre (k-means++ and the
            official code) or to the ``'linear'`` distance (the paper's
            text). Defaults to 'squared'.
        local_trials (int, optional): Candidates drawn per pick; the one
            that lowers the potential (sum of the sampling weights) most is
            kept (scikit-learn's greedy k-means++). None or 1: one draw.
        device (str): ``'auto'``, ``'cpu'`` or ``'cuda'``.

    Returns:
        tuple: picked image indices in pick order (``preselected`` not
        included) and, for each, the distance of the drawn pair to its
        nearest centre before the pick (for the seed image: its number of
        pairs).
    """
    if sampling not in SAMPLING:
        raise ValueError(f'sampling must be one of {SAMPLING}, got '
                         f'{sampling!r}')
    dev = pick_device(device)
    n_pairs = pairs.num_rows
    pair_image = np.asarray(pair_image, dtype=np.int64)
    order = np.argsort(pair_image, kind='stable')
    bounds = np.searchsorted(pair_image[order], np.arange(num_images + 1))

    def pairs_of(img: int) -> np.ndarray:
        return order[bounds[img]:bounds[img + 1]]

    # squared distance of every pair to its nearest centre
    d2 = torch.full((n_pairs, ), float('inf'), device=dev)
    sq_norms = torch.empty(n_pairs, device=dev)
    for start, x in pairs.iter_blocks(dev):
        sq_norms[start:start + len(x)] = torch.linalg.vector_norm(
            x, dim=1).square_()
        if centers is not None and len(centers):
            d2[start:start + len(x)] = nearest_center_distances(
                x, centers).square_()

    def nearest_of(images: Sequence[int]) -> torch.Tensor:
        """(P, len(images)) squared distance of every pair to the nearest
        pair of each image, in one pass over the pair matrix."""
        groups = [pairs_of(i) for i in images]
        c = torch.from_numpy(pairs.rows(np.concatenate(groups))).to(dev)
        cn = torch.linalg.vector_norm(c, dim=1).square_()
        ends = np.cumsum([len(g) for g in groups])
        spans = list(zip(np.concatenate([[0], ends[:-1]]), ends))
        out = torch.empty((n_pairs, len(groups)), device=dev)
        for start, x in pairs.iter_blocks(dev):
            # |x|^2 is the same for every column: added after the min
            part = torch.addmm(cn[None], x, c.T, alpha=-2)
            for j, (lo, hi) in enumerate(spans):
                out[start:start + len(x), j] = part[:, lo:hi].min(dim=1)[0]
        return out.add_(sq_norms[:, None]).clamp_(min=0)

    taken = torch.zeros(n_pairs, dtype=torch.bool, device=dev)
    picked: List[int] = []
    values: List[float] = []

    def take(img: int, new_d2: torch.Tensor) -> None:
        nonlocal d2
        d2 = new_d2
        idx = torch.from_numpy(pairs_of(img)).to(dev)
        taken[idx] = True
        d2[idx] = 0

    for img in preselected:
        if len(pairs_of(int(img))):
            take(int(img), torch.minimum(d2, nearest_of([int(img)])[:, 0]))
    if not torch.isfinite(d2).any() and n_pairs and budget > 0:
        # No centres yet: the image with the most pairs (random tie-break).
        counts = np.diff(bounds)
        best = np.flatnonzero(counts == counts.max())
        img = int(best[rng.integers(len(best))])
        take(img, nearest_of([img])[:, 0])
        picked.append(img)
        values.append(float(counts[img]))
    trials = max(1, int(local_trials or 1))
    while len(picked) < budget:
        weight = d2.masked_fill(taken, 0)
        if sampling == 'linear':
            weight = weight.sqrt()
        weight = weight.double().cpu().numpy()
        cum = np.cumsum(weight)
        if not n_pairs or not cum[-1] > 0:
            break  # every remaining pair coincides with a centre
        draws = np.searchsorted(
            cum, rng.random(trials) * cum[-1], side='right')
        draws = np.minimum(draws, n_pairs - 1)
        images = [int(pair_image[d]) for d in draws]
        uniq = list(dict.fromkeys(images))
        near = torch.minimum(d2[:, None], nearest_of(uniq))
        best_t = 0
        if len(uniq) > 1:  # keep the candidate lowering the potential most
            w = near.masked_fill(taken[:, None], 0)
            pot = (w.sqrt() if sampling == 'linear' else w).sum(
                dim=0, dtype=torch.float64)
            best_t = images.index(uniq[int(torch.argmin(pot))])
        best_d2 = near[:, uniq.index(images[best_t])].contiguous()
        del near
        img = images[best_t]
        values.append(float(d2[draws[best_t]].clamp(min=0).sqrt()))
        take(img, best_d2)
        picked.append(img)
    return picked, values


@STRATEGIES.register_module(name=['BiB', 'bib'])
class BiB(BaseStrategy):
    """Box-in-box acquisition; see the module docstring and
    ``docs/strategies/bib.md``.

    Args:
        mu (float): Minimum area ratio of a pair's large box to its small
            box. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            box. Defaults to 0.8.
        score_thr (float): Only detections scored above it enter pairs.
            Defaults to 0.1.
        use_image_labels (bool): Only detections of the image's image-level
            classes enter pairs. Defaults to True.
        pairing (str): ``'all'`` qualifying large boxes of a small box (the
            paper's Eq. 1) or only the ``'first'`` (highest-scored; the
            official code). Defaults to 'first'.
        sampling (str): ``'squared'`` (official code, k-means++) or
            ``'linear'`` (paper text) distance weights. Defaults to
            'squared'.
        local_trials (bool | int): Greedy k-means++: draw ``2 + ln(budget)``
            candidates per pick (or this many when an int) and keep the one
            that lowers the potential most (official code). False: one
            draw per pick. Defaults to True.
        fill_up (str): How to complete the budget when fewer images than
            the budget have pairs: ``'random'`` images of the rest of the
            pool. Defaults to 'random'.
        projection_dim (int, optional): Project pair features to this size
            with a fixed Gaussian random projection (seeded with
            ``projection_seed``) before they are stored. Defaults to None
            (off).
        projection_seed (int): Seed of the projection matrix. Defaults to 0.
        block_size (int): Pair rows per block in ``select``. Defaults to
            8192.
        device (str): Where distances are computed: ``'auto'`` (the GPU of
            rank 0 when there is one), ``'cpu'`` or ``'cuda'``.
    """

    uses_labeled = True

    def __init__(self,
                 mu: float = 3.0,
                 delta: float = 0.8,
                 score_thr: float = 0.1,
                 use_image_labels: bool = True,
                 pairing: str = 'first',
                 sampling: str = 'squared',
                 local_trials=True,
                 fill_up: str = 'random',
                 projection_dim: Optional[int] = None,
                 projection_seed: int = 0,
                 block_size: int = 8192,
                 device: str = 'auto'):
        if pairing not in PAIRING:
            raise ValueError(f'pairing must be one of {PAIRING}, got '
                             f'{pairing!r}')
        if sampling not in SAMPLING:
            raise ValueError(f'sampling must be one of {SAMPLING}, got '
                             f'{sampling!r}')
        if fill_up not in FILL_UP:
            raise ValueError(f'fill_up must be one of {FILL_UP}, got '
                             f'{fill_up!r}')
        if not mu >= 1:
            raise ValueError(f'mu must be >= 1, got {mu}')
        if not 0 < delta <= 1:
            raise ValueError(f'delta must be in (0, 1], got {delta}')
        if not isinstance(local_trials, bool) and not (isinstance(
                local_trials, int) and local_trials >= 1):
            raise ValueError('local_trials must be True, False or an int '
                             f'>= 1, got {local_trials!r}')
        if projection_dim is not None and not (isinstance(projection_dim, int)
                                               and projection_dim > 0):
            raise ValueError('projection_dim must be a positive int or None, '
                             f'got {projection_dim!r}')
        if device not in ('auto', 'cpu', 'cuda'):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got "
                             f'{device!r}')
        self.mu, self.delta, self.score_thr = mu, delta, score_thr
        self.use_image_labels = use_image_labels
        self.pairing, self.sampling = pairing, sampling
        self.local_trials = local_trials
        self.fill_up = fill_up
        self.projection_dim = projection_dim
        self.projection_seed = projection_seed
        self.block_size = block_size
        self.device = device
        self._projection: Optional[np.ndarray] = None
        self.requires = ('bboxes', 'scores', 'labels', 'feats') + (
            ('img_labels', ) if use_image_labels else ())

    # -- per image ----------------------------------------------------------
    def candidate_pairs(self, fields):
        """The detections that may pair (scored above ``score_thr``, of an
        image-level class) and their pairs.

        Returns:
            tuple: ``boxes`` (K, 4), ``scores`` (K,), ``labels`` (K,),
            ``keep`` (N,) the mask of those detections among all, and the
            ``small`` / ``large`` (P,) indices into the K detections.
        """
        boxes = np.asarray(fields['bboxes'], np.float32).reshape(-1, 4)
        scores = np.asarray(fields['scores'], np.float32).reshape(-1)
        labels = np.asarray(fields['labels'], np.int64).reshape(-1)
        keep = scores > self.score_thr
        if self.use_image_labels:
            keep &= np.isin(labels, np.asarray(fields['img_labels']))
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        small, large = box_in_box_pairs(boxes, labels, self.mu, self.delta,
                                        self.pairing)
        return boxes, scores, labels, keep, small, large

    def summarize(self, fields) -> Dict[str, np.ndarray]:
        """The image's pairs: ``pair_feats`` (P, 2D or projection_dim)
        fp16, ``pair_boxes`` (P, 8) small then large box, ``pair_labels``
        (P,), and the detections that could pair (``det_boxes``,
        ``det_scores``, ``det_labels``), for visualisation."""
        boxes, scores, labels, keep, small, large = self.candidate_pairs(
            fields)
        feats = np.asarray(fields['feats'], np.float32)
        feats = feats.reshape(len(keep), -1) if len(keep) else \
            feats.reshape(0, feats.shape[-1] if feats.ndim == 2 else 0)
        feats = feats[keep]
        pair_feats = np.concatenate([feats[small], feats[large]], axis=1)
        if self.projection_dim is not None:
            pair_feats = pair_feats @ self._project(pair_feats.shape[1])
        return dict(
            pair_feats=pair_feats.astype(np.float16),
            pair_boxes=np.concatenate([boxes[small], boxes[large]], axis=1),
            pair_labels=labels[small],
            det_boxes=boxes,
            det_scores=scores,
            det_labels=labels)

    def _project(self, dim: int) -> np.ndarray:
        if self._projection is None or self._projection.shape[0] != dim:
            rng = np.random.default_rng(self.projection_seed)
            self._projection = (rng.standard_normal(
                (dim, self.projection_dim)) /
                                math.sqrt(self.projection_dim)).astype(
                                    np.float32)
        return self._projection

    # -- selection ------------------------------------------------------------
    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        return self.select_pairs(summaries, ids, budget, context, rng, ())

    def labeled_centres(self, context: SelectionContext) -> np.ndarray:
        """The pairs of the previously selected images, featurised by the
        current model (their summaries), as initial centres."""
        labeled = self.labeled_summaries(context, 'pairs')
        parts = [
            np.asarray(s['pair_feats'], np.float32) for s in labeled.values()
            if len(s['pair_feats'])
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def select_pairs(self, summaries: Mapping[int, dict], ids: np.ndarray,
                     budget: int, context: SelectionContext,
                     rng: np.random.Generator,
                     preselected: Sequence[int]) -> Selection:
        """BiB over the images ``ids`` (``preselected`` of them already
        chosen in this selection and counted in ``budget``), then the
        fill-up."""
        budget = min(budget, len(ids))
        feats = [summaries[int(i)]['pair_feats'] for i in ids]
        pair_image = np.repeat(
            np.arange(len(ids)),
            [len(f) if np.ndim(f) == 2 else 0 for f in feats])
        matrix = PairMatrix(feats, self.block_size)
        pos = {int(i): k for k, i in enumerate(ids)}
        pre = [pos[int(i)] for i in preselected]
        centres = self.labeled_centres(context)
        if len(centres) and matrix.num_rows and \
                centres.shape[1] != matrix.dim:
            raise StrategyError(f'BiB: labeled pairs have {centres.shape[1]}'
                                f'-d features, the pool {matrix.dim}-d')
        trials = self.local_trials
        if isinstance(trials, bool):
            trials = 2 + int(math.log(max(budget, 1))) if trials else 1
        picked, values = kmeanspp_images(
            matrix,
            pair_image,
            len(ids),
            budget - len(pre),
            rng,
            centers=centres if len(centres) else None,
            preselected=pre,
            sampling=self.sampling,
            local_trials=trials,
            device=self.device)
        chosen = pre + picked
        rest = np.setdiff1d(np.arange(len(ids)), chosen)
        fill = rng.permutation(rest)[:budget - len(chosen)].tolist()
        order = chosen + fill
        scores = [0.0] * len(pre) + values + [0.0] * len(fill)
        return Selection(
            ids=ids[np.asarray(order, dtype=np.int64)],
            scores=np.asarray(scores, dtype=np.float64),
            extra=dict(
                by_bib=len(picked),
                preselected=len(pre),
                filled=len(fill),
                images_with_pairs=int(len(np.unique(pair_image))),
                pairs=int(matrix.num_rows),
                centre_pairs=int(len(centres)),
                local_trials=int(trials)))


@STRATEGIES.register_module(name=['UBiB', 'u-bib'])
class UBiB(BiB):
    """U(BiB) (BiB Table 8): images drawn uniformly at random among those
    with at least one box-in-box pair; the rest of the budget (when fewer
    images have pairs) drawn at random from the other images."""

    uses_labeled = False

    def summarize(self, fields):
        """Only the number of pairs (no pair features)."""
        return {'num_pairs': np.int64(len(self.candidate_pairs(fields)[4]))}

    def select(self, summaries, budget, context, rng) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        n = np.array([int(summaries[int(i)]['num_pairs']) for i in ids])
        with_pairs = rng.permutation(ids[n > 0])[:budget]
        rest = rng.permutation(ids[n == 0])[:budget - len(with_pairs)]
        return Selection(
            ids=np.concatenate([with_pairs, rest]),
            extra=dict(with_pairs=len(with_pairs), filled=len(rest)))


@STRATEGIES.register_module(name=['UPlusBiB', 'u-plus-bib'])
class UPlusBiB(BiB):
    """U+BiB (BiB Table 8): half of the budget (rounded down) drawn
    uniformly at random from the pool, the other half with BiB, whose
    centres include the random half's pairs."""

    def select(self, summaries, budget, context, rng) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        budget = min(budget, len(ids))
        half = rng.choice(ids, budget // 2, replace=False)
        return self.select_pairs(
            summaries, ids, budget, context, rng, preselected=half.tolist())
