"""Acquisition at COCO scale on a synthetic pool: the real strategy's
``summarize`` and ``select`` and the real shard I/O, without a detector.

    python tools/benchmark/bench_acquisition.py --strategy enms-divproto
    python tools/benchmark/bench_acquisition.py --strategy core-set \
        --num-images 94630 --labeled 23657
    python tools/benchmark/bench_acquisition.py --strategy enms-divproto \
        --quick
    python tools/benchmark/bench_acquisition.py --strategy bib \
        --work-dir /data/bench_bib          # 854k pairs of 8,192-d, ~14 GB

Phase 1 (summarize), in this process: every image's detector fields are
drawn from a seeded generator, one image at a time, passed to the
strategy's ``summarize`` and streamed to shards with the summary store's
``write_shard`` (``shard_size`` images a shard), so the raw per-image
fields are never all in memory. Reported: time in ``summarize`` alone
(ms/image, images/s), time spent generating and writing, and shard bytes
per image.

Phase 2 (select), in a fresh subprocess so its peak RSS is that of the
select phase alone (plus the imports the runner has too: torch, mmengine):
``SummaryStore.read`` of the folder, then ``strategy.select`` (and
``check_selection``) with a :class:`SelectionContext` whose class counts
come from the synthetic labeled set; strategies with ``uses_labeled``
(core-set) get the labeled images' summaries as
``context.labeled_summaries``, as the loop passes them.

The pool: ``--num-images`` unlabeled images (ids ``0 .. N-1``, all scored
and all given to ``select``) and ``--labeled`` labeled images (ids ``N ..
N+L-1``; they give the class counts and, for ``uses_labeled`` strategies,
are scored too and become the initial centres). The COCO cycle-0 split of
train2017 (118,287 images, 20 % labeled) is ``--num-images 94630 --labeled
23657``.

What an image looks like (not uniform noise): 1-6 present classes drawn
with Zipf-like class frequencies (class 0 the most frequent, as ``person``
in COCO), 1 + Poisson(1.5) objects each; ``--dets`` detections (the
detector's ``max_per_img``) shared among the objects, sorted by score. Most
are of the object's class; a ``--confusion`` share carries one of the
class's 3 fixed look-alike classes (or, 1 in 3, any class). Each object's
best detection scores ``0.05 + 0.95 Beta(6, 2)``, the others (duplicates,
poor boxes) ``0.05 + 0.95 Beta(1.1, 6)``, confusions ``0.05 + 0.95 Beta(1,
8)`` (``0.05`` = mmdet's usual ``score_thr``). Instance features are ``class
centre + image offset of the class + object offset + noise`` (unit-scale
random directions, image offset weight drawn per image), so detections of
one object are close and those of one class in an image nearly so (cosine
0.69-0.83 for 80 % of same-label pairs: ENMS at 0.5 keeps about one
detection per predicted class), while a class's prototypes from different
images are farther apart (mean cosine 0.1-0.25; the closest 10 % of pairs
above 0.6-0.7, DivProto's threshold being 0.7). With the defaults an image
has 10.8 predicted classes on average. ``img_feat`` is a draw from a
mixture of 64 Gaussian clusters.

BiB (``--strategy bib`` or ``u-plus-bib``): phase 1 does not run
``summarize`` (drawing 100 detections of 4,096-d per image for 82k images
would take far longer than the selection it feeds); it draws each image's
summary directly, in BiB's format (``pair_feats`` (P, 2D) fp16,
``pair_boxes`` (P, 8), ``pair_labels``, ``det_boxes / det_scores /
det_labels``), from ``(seed, img_id)`` (see :class:`SyntheticPairs`), and
writes them with the summary store's ``write_shard``, one shard in memory
at a time. The
defaults are the first cycle of BiB on COCO 2014: ``--num-images 82783``
(train2014), no labeled images, ``--budget 160``, ``--bib-dim 4096`` (fc7 of
MIST's VGG16, so 8,192-d pairs) and ``--pairs`` 854,000 in all (10.3 per
image): ``--no-pair-share`` (40 %) of the images have none, the others 1 +
a multinomial share of the rest with log-normal weights, capped at
``--max-pairs`` (99: at most one pair per small box among 100 detections,
BiB's default ``pairing='first'``). A pair's two halves are its small and
large boxes' instance features, ``centre of the box's cluster + noise``
(``--clusters`` Gaussian centres with Zipf-like popularity; an image's
boxes come from 1-3 of them; pairs of one large box share its feature).
About 14 GB of shards at that size: the free space under ``--work-dir`` is
checked first. ``--local-trials``, ``--sampling``, ``--projection-dim``,
``--device`` and ``--block-size`` are merged into ``--strategy-args``;
``--projection-dim`` is applied to the pairs as BiB's ``summarize`` does,
the others only change phase 2, so ``--work-dir D --keep`` then ``--reuse``
re-runs select with other settings on the same shards.

``--distribution isotropic`` replaces the Gaussian clusters of
``img_feat`` and of the pair features by one isotropic Gaussian of the same
per-component variance (no structure for the triangle-inequality bounds
to use: their worst case); everything else is drawn as by default.
``--exact reference`` runs core-set's / BiB's unpruned algorithm (same
picks; compare the ``ids_sha256`` of the two runs). The distances
computed and skipped by the pruned algorithms are printed.
"""
import argparse
import cProfile
import hashlib
import io
import json
import os
import os.path as osp
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

import numpy as np

QUICK = dict(num_images=2000, labeled=400, budget=100)
DEFAULTS = dict(num_images=118287, budget=5914)
# strategies whose summaries are BiB's pairs, drawn directly (SyntheticPairs)
BIB_PAIRS = ('bib', 'BiB', 'u-plus-bib', 'UPlusBiB')
BIB_DEFAULTS = dict(num_images=82783, labeled=0, budget=160, bib_dim=4096)
BIB_QUICK = dict(num_images=2000, labeled=0, budget=50, bib_dim=256)
COCO14_PAIRS_PER_IMAGE = 854000 / 82783  # ~10.3
# strategy options with their own flag, merged into --strategy-args
STRATEGY_FLAGS = ('local_trials', 'sampling', 'projection_dim', 'device',
                  'block_size', 'exact')
#: feature distributions: the default Gaussian clusters (the generators as
#: of commit e59d01b, unchanged) or one isotropic Gaussian of the same
#: per-component variance (no structure: the worst case of the pruning)
DISTRIBUTIONS = ('clusters', 'isotropic')


def _local_trials(value: str):
    low = value.lower()
    if low in ('true', 'false'):
        return low == 'true'
    if low in ('cumulative', 'budget'):
        return low
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            'expected cumulative, budget, true, false or an int >= 1, '
            f'got {value!r}')
    return n


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Benchmark an acquisition strategy at COCO scale on a '
        'synthetic pool (real summarize / write_shard / SummaryStore.read / '
        'select)')
    p.add_argument(
        '--strategy',
        default='enms-divproto',
        help='registered strategy type (enms-divproto, core-set, '
        'core-set-ent, entropy, enms, ...)')
    p.add_argument(
        '--strategy-args',
        default='{}',
        help='JSON dict of hyper-parameters for the strategy')
    p.add_argument(
        '--num-images',
        type=int,
        default=None,
        help='unlabeled images scored and given to select (default '
        '118,287; BiB: 82,783)')
    p.add_argument('--dets', type=int, default=100, help='detections/image')
    p.add_argument('--feat-dim', type=int, default=1024)
    p.add_argument('--num-classes', type=int, default=80)
    p.add_argument(
        '--budget', type=int, default=None, help='default 5,914; BiB: 160')
    p.add_argument(
        '--labeled',
        type=int,
        default=None,
        help='labeled images (default: 0.2 x --num-images; BiB: 0)')
    p.add_argument('--img-feat-dim', type=int, default=2048)
    p.add_argument(
        '--confusion',
        type=float,
        default=0.15,
        help='share of detections labeled with another class')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--distribution',
        choices=DISTRIBUTIONS,
        default='clusters',
        help='img_feat / pair features: Gaussian clusters (default) or one '
        'isotropic Gaussian of the same per-component variance (the worst '
        'case of the triangle-inequality pruning)')
    p.add_argument(
        '--work-dir',
        default=None,
        help='where the shards go (default: a temporary folder, removed '
        'at the end)')
    p.add_argument('--shard-size', type=int, default=1024)
    p.add_argument('--json-out', default=None, help='write the figures here')
    p.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: 2,000 images, 400 labeled, budget 100 (BiB: 2,000 '
        'images, none labeled, budget 50, --bib-dim 256); explicit flags '
        'win')
    bib = p.add_argument_group(
        'BiB pool (--strategy bib / u-plus-bib: summaries drawn directly)')
    bib.add_argument(
        '--bib-dim',
        type=int,
        default=None,
        help='instance feature size D; pairs are 2D (default 4096)')
    bib.add_argument(
        '--pairs',
        type=int,
        default=None,
        help='pairs in the pool in all (default: 10.3 per image, 854,000 '
        'for 82,783 images)')
    bib.add_argument(
        '--max-pairs', type=int, default=99, help='most pairs of an image')
    bib.add_argument(
        '--no-pair-share',
        type=float,
        default=0.4,
        help='share of the images without pairs')
    bib.add_argument(
        '--clusters',
        type=int,
        default=300,
        help='Gaussian centres of the instance features')
    opt = p.add_argument_group(
        'strategy options (merged into --strategy-args; BiB\'s names)')
    opt.add_argument(
        '--local-trials',
        type=_local_trials,
        default=None,
        metavar='{cumulative,budget,true,false,N}')
    opt.add_argument('--sampling', choices=('squared', 'linear'))
    opt.add_argument('--projection-dim', type=int, default=None)
    opt.add_argument('--device', choices=('auto', 'cpu', 'cuda'))
    opt.add_argument('--block-size', type=int, default=None)
    opt.add_argument(
        '--exact',
        choices=('pruned', 'reference'),
        help='bib / core-set: the pruned algorithm (default) or the '
        'unpruned reference (same picks)')
    p.add_argument(
        '--reuse',
        action='store_true',
        help='skip phase 1 if --work-dir already holds shards made with the '
        'same arguments')
    p.add_argument(
        '--keep', action='store_true', help='keep the shards at the end')
    p.add_argument(
        '--profile',
        action='store_true',
        help='print the top cProfile entries of load and select')
    p.add_argument('--select-only', help=argparse.SUPPRESS)  # internal
    args = p.parse_args(argv)
    args.bib = args.strategy in BIB_PAIRS
    quick, defaults = (BIB_QUICK, BIB_DEFAULTS) if args.bib else (QUICK,
                                                                  DEFAULTS)
    for table in ((quick, defaults) if args.quick else (defaults, )):
        for k, v in table.items():
            if getattr(args, k, None) is None:
                setattr(args, k, v)
    if args.labeled is None:
        args.labeled = int(round(0.2 * args.num_images))
    if args.bib:
        if args.pairs is None:
            args.pairs = int(round(COCO14_PAIRS_PER_IMAGE * args.num_images))
        if not 0 <= args.pairs <= args.num_images * args.max_pairs:
            p.error(f'--pairs {args.pairs:,} does not fit --num-images '
                    f'{args.num_images:,} of at most --max-pairs '
                    f'{args.max_pairs}')
    flags = {
        k: getattr(args, k)
        for k in STRATEGY_FLAGS if getattr(args, k) is not None
    }
    if flags:
        merged = json.loads(args.strategy_args)
        merged.update(flags)
        args.strategy_args = json.dumps(merged, sort_keys=True)
    return args


def build(strategy: str, strategy_args: str):
    from mmal.strategies import build_strategy
    return build_strategy(dict(type=strategy, **json.loads(strategy_args)))


# ---------------------------------------------------------------------------
# the synthetic pool
def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class SyntheticPool:
    """Per-image detector fields, reproducible from ``(seed, img_id)``
    alone (so the order of generation does not matter)."""

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 img_feat_dim: int,
                 dets: int,
                 confusion: float,
                 seed: int,
                 zipf: float = 1.1,
                 clusters: int = 64,
                 isotropic: bool = False):
        self.c = num_classes
        self.isotropic = isotropic
        self.d = feat_dim
        self.di = img_feat_dim
        self.dets = dets
        self.confusion = confusion
        self.seed = seed
        rng = np.random.default_rng([seed, 2**31])
        p = np.arange(1, num_classes + 1, dtype=np.float64)**-zipf
        self.class_p = p / p.sum()
        self.centres = _unit(rng.standard_normal(
            (num_classes, feat_dim))).astype(np.float32)
        k = min(3, num_classes - 1)
        self.confusers = np.array([
            rng.choice(np.delete(np.arange(num_classes), c), k, replace=False)
            if k > 0 else np.array([c], dtype=np.int64)
            for c in range(num_classes)
        ])
        self.cluster_p = rng.dirichlet(np.ones(clusters))
        self.cluster_mu = rng.standard_normal(
            (clusters, img_feat_dim)).astype(np.float32)

    def _gt(self, rng):
        n = int(min(6, 1 + rng.poisson(1.9)))
        n = min(n, self.c)
        present = rng.choice(self.c, n, replace=False, p=self.class_p)
        objects = 1 + rng.poisson(1.5, size=n)
        return present, objects

    def ground_truth(self, img_id: int):
        """Present classes and their object counts."""
        return self._gt(np.random.default_rng([self.seed, img_id]))

    def image(self, img_id: int, need) -> dict:
        rng = np.random.default_rng([self.seed, img_id])
        present, objects = self._gt(rng)
        n = self.dets
        obj_cls = np.repeat(present, objects)  # (O,)
        n_obj = len(obj_cls)
        # each object gets its best detection first, the rest at random
        owner = np.concatenate([
            np.arange(min(n, n_obj)),
            rng.integers(0, n_obj, max(0, n - n_obj))
        ])
        true_cls = obj_cls[owner]
        best = np.zeros(n, dtype=bool)
        best[:min(n, n_obj)] = True
        labels = true_cls.copy()
        confused = (rng.random(n) < self.confusion) & ~best
        if confused.any():
            look_alike = self.confusers[
                true_cls[confused],
                rng.integers(0, self.confusers.shape[1], confused.sum())]
            anything = rng.choice(self.c, confused.sum(), p=self.class_p)
            labels[confused] = np.where(
                rng.random(confused.sum()) < 2 / 3, look_alike, anything)
        raw = np.where(best, rng.beta(6, 2, n), rng.beta(1.1, 6, n))
        raw[confused] = rng.beta(1, 8, confused.sum())
        scores = (0.05 + 0.95 * raw).astype(np.float32)
        order = np.argsort(-scores, kind='stable')
        out = {}
        if 'scores' in need:
            out['scores'] = scores[order]
        if 'labels' in need:
            out['labels'] = labels[order].astype(np.int64)
        if 'feats' in need:
            d = self.d
            scale = 1 / np.sqrt(d)
            img_w = rng.uniform(0.3, 0.8)
            img_off = rng.standard_normal(
                (len(present), d), dtype=np.float32) * scale
            row_of = np.zeros(self.c, dtype=np.int64)
            row_of[present] = np.arange(len(present))
            obj_off = rng.standard_normal((n_obj, d), dtype=np.float32) * scale
            feats = rng.standard_normal((n, d), dtype=np.float32)
            feats *= 0.6 * scale
            feats += self.centres[true_cls]
            feats += img_w * img_off[row_of[true_cls]]
            feats += 0.5 * obj_off[owner]
            out['feats'] = feats[order]
        if 'bboxes' in need:
            xy = rng.uniform(0, 560, (n, 2))
            wh = rng.uniform(8, 320, (n, 2))
            out['bboxes'] = np.concatenate([xy, np.minimum(xy + wh, 640)],
                                           axis=1).astype(np.float32)[order]
        if 'cls_probs' in need:
            probs = rng.dirichlet(np.full(self.c, 0.3), n)
            probs *= (1 - scores)[:, None] * rng.uniform(0, 0.4, (n, 1))
            probs[np.arange(n), labels] = scores
            bg = 1 - probs.sum(1, keepdims=True)
            out['cls_probs'] = np.concatenate([probs, np.maximum(bg, 0)],
                                              axis=1).astype(np.float32)[order]
        if 'img_feat' in need and self.isotropic:
            # N(0, 1.25 I): the clusters' per-component variance, no centres
            out['img_feat'] = np.float32(1.25**0.5) * rng.standard_normal(
                self.di, dtype=np.float32)
        elif 'img_feat' in need:
            z = rng.choice(len(self.cluster_p), p=self.cluster_p)
            out['img_feat'] = self.cluster_mu[z] + 0.5 * rng.standard_normal(
                self.di, dtype=np.float32)
        if 'img_labels' in need:
            out['img_labels'] = np.sort(present).astype(np.int64)
        if 'loss' in need:
            out['loss'] = np.float32(rng.gamma(2.0, 0.5))
        return out


def class_counts(pool: SyntheticPool, ids) -> tuple:
    boxes = np.zeros(pool.c, np.int64)
    images = np.zeros(pool.c, np.int64)
    for i in ids:
        present, objects = pool.ground_truth(int(i))
        boxes[present] += objects
        images[present] += 1
    return boxes, images


def pair_counts(num_images: int,
                total: int,
                no_pair_share: float,
                max_pairs: int,
                rng: np.random.Generator,
                sigma: float = 0.8) -> np.ndarray:
    """Pairs per image, summing to ``total`` exactly: about
    ``no_pair_share`` of the images have none, the others ``1 +`` a
    multinomial share of the rest with log-normal(0, ``sigma``) weights
    (at 10.3 per image and 40 % without: median ~13 and 99th percentile
    ~78 among the images with pairs), capped at
    ``max_pairs`` (the excess redrawn among the images below it)."""
    if total < 0 or total > num_images * max_pairs:
        raise SystemExit(f'--pairs {total:,} does not fit {num_images:,} '
                         f'images of at most --max-pairs {max_pairs}')
    out = np.zeros(num_images, np.int64)
    if total == 0:
        return out
    has = rng.random(num_images) >= no_pair_share
    idx = np.flatnonzero(has)
    need = -(-total // max_pairs)
    if len(idx) > total:
        idx = np.sort(rng.choice(idx, total, replace=False))
    elif len(idx) < need:
        more = rng.choice(np.flatnonzero(~has), need - len(idx), replace=False)
        idx = np.sort(np.concatenate([idx, more]))
    w = rng.lognormal(0.0, sigma, len(idx))
    p = w / w.sum()
    counts = 1 + rng.multinomial(total - len(idx), p)
    while True:
        over = counts > max_pairs
        if not over.any():
            break
        excess = int((counts[over] - max_pairs).sum())
        counts[over] = max_pairs
        room = counts < max_pairs
        counts[room] += rng.multinomial(excess, p[room] / p[room].sum())
    out[idx] = counts
    return out


class SyntheticPairs:
    """BiB summaries drawn directly: per image ``P`` box-in-box pairs (from
    :func:`pair_counts`), their ``(P, 2D)`` fp16 features (small box's
    instance feature, then the large box's; optionally projected as
    ``summarize`` does) and boxes, and the detections they come from.

    An image draws 1-3 of ``clusters`` Gaussian centres (unit-variance
    components; Zipf-like popularity, class ``k % num_classes``), ``1 + (P
    - 1) // 3`` large boxes among them (fewer when P is large: at most 100
    detections in all) and ``P`` small boxes, each inside a large box of
    its cluster (area ratio >= 3.3, so ``mu=3`` holds); an
    instance feature is its centre plus ``noise`` x N(0, 1) per component.
    Everything but the pair counts is reproducible from ``(seed, img_id)``
    alone.
    """

    def __init__(self,
                 counts: np.ndarray,
                 dim: int,
                 num_classes: int,
                 clusters: int,
                 seed: int,
                 projection: Optional[np.ndarray] = None,
                 noise: float = 0.6,
                 zipf: float = 0.8,
                 isotropic: bool = False):
        self.counts = counts
        self.d = dim
        self.c = num_classes
        self.seed = seed
        self.noise = noise
        self.projection = projection
        self.out_dim = 2 * dim if projection is None else projection.shape[1]
        rng = np.random.default_rng([seed, 2**31 + 2])
        p = np.arange(1, clusters + 1, dtype=np.float64)**-zipf
        self.cluster_p = rng.permutation(p / p.sum())
        self.centres = rng.standard_normal((clusters, dim), dtype=np.float32)
        if isotropic:
            # every feature N(0, (1 + noise^2) I): the clusters' variance per
            # component, no centres; the boxes and labels are unchanged
            self.centres[:] = 0
            self.noise = (1 + noise**2)**0.5

    @staticmethod
    def _boxes(rng, n, lo=8.0, hi=320.0):
        xy = rng.uniform(0, 560, (n, 2))
        wh = rng.uniform(lo, hi, (n, 2))
        return np.concatenate([xy, np.minimum(xy + wh, 640)], axis=1)

    def image(self, img_id: int) -> dict:
        rng = np.random.default_rng([self.seed, img_id])
        p = int(self.counts[img_id])
        # at most 100 detections (MIST's max_per_img) when p <= 99
        n_large = max(1, min(1 + (p - 1) // 3, 100 - p)) if p else 0
        topics = rng.choice(
            len(self.cluster_p),
            min(3, 1 + rng.poisson(0.7)),
            p=self.cluster_p)
        large_k = topics[rng.integers(len(topics), size=n_large)]
        owner = np.concatenate([
            np.arange(n_large),
            rng.integers(0, max(n_large, 1), p - n_large)
        ]).astype(np.int64)
        # instance features: n_large large boxes, then p small ones
        f = rng.standard_normal((n_large + p, self.d), dtype=np.float32)
        f *= self.noise
        f[:n_large] += self.centres[large_k]
        f[n_large:] += self.centres[large_k[owner]]
        pair = np.empty((p, 2 * self.d), np.float32)
        pair[:, :self.d] = f[n_large:]
        pair[:, self.d:] = f[owner]
        del f
        if self.projection is not None:
            pair = pair @ self.projection
        # boxes: each small one inside its large one
        large = self._boxes(rng, n_large, 120.0, 400.0)
        lw, lh = large[owner, 2] - large[owner, 0], large[owner,
                                                          3] - large[owner, 1]
        sw = lw * rng.uniform(0.2, 0.55, p)
        sh = lh * rng.uniform(0.2, 0.55, p)
        sx = large[owner, 0] + rng.uniform(0, 1, p) * (lw - sw)
        sy = large[owner, 1] + rng.uniform(0, 1, p) * (lh - sh)
        small = np.stack([sx, sy, sx + sw, sy + sh], axis=1)
        n_other = int(min(rng.poisson(4), max(0, 100 - p - n_large)))
        other = self._boxes(rng, n_other)
        labels = large_k % self.c
        det_labels = np.concatenate([
            labels, labels[owner],
            (topics % self.c)[rng.integers(len(topics), size=n_other)]
        ]).astype(np.int64)
        return dict(
            pair_feats=pair.astype(np.float16),
            pair_boxes=np.concatenate([small, large[owner]],
                                      axis=1).astype(np.float32),
            pair_labels=labels[owner].astype(np.int64),
            det_boxes=np.concatenate([large, small, other]).astype(np.float32),
            det_scores=np.sort(0.1 + 0.9 *
                               rng.beta(2, 3, len(det_labels)))[::-1].astype(
                                   np.float32),
            det_labels=det_labels)


# ---------------------------------------------------------------------------
# phase 1: summarize
def _signature(args) -> dict:
    if args.bib:
        # the same shards serve bib and u-plus-bib
        keys = ('num_images', 'labeled', 'num_classes', 'seed', 'shard_size',
                'bib_dim', 'pairs', 'max_pairs', 'no_pair_share', 'clusters')
        out = dict(pool='bib-pairs', **{k: getattr(args, k) for k in keys})
        out['summary_args'] = _bib_summary_args(args)
    else:
        keys = ('strategy', 'strategy_args', 'num_images', 'dets', 'feat_dim',
                'num_classes', 'labeled', 'img_feat_dim', 'confusion', 'seed',
                'shard_size')
        out = {k: getattr(args, k) for k in keys}
    if args.distribution != 'clusters':  # older shards stay reusable
        out['distribution'] = args.distribution
    return out


class ShardWriter:
    """The summary store's writer (``size`` images a shard), timed:
    ``seconds`` is the time spent buffering and writing."""

    def __init__(self, shard_dir: str, size: int):
        from mmal.active_learning.summary_store import SummaryStore
        self.shard_dir = shard_dir
        self.writer = SummaryStore(shard_dir).writer(0, size)
        self.seconds = 0.0

    def add(self, img_id: int, summary: dict) -> None:
        t0 = time.perf_counter()
        self.writer.add(img_id, summary)
        self.seconds += time.perf_counter() - t0

    def flush(self) -> None:
        t0 = time.perf_counter()
        self.writer.flush()
        self.seconds += time.perf_counter() - t0

    def finish(self, labeled, class_counts, class_image_counts) -> int:
        """Write the last shard and the selection context (labeled ids,
        class counts); returns the bytes of all shards."""
        self.flush()
        np.savez(
            osp.join(self.shard_dir, 'context.npz'),
            labeled_ids=labeled,
            class_counts=class_counts,
            class_image_counts=class_image_counts)
        return sum(
            osp.getsize(osp.join(root, f))
            for root, _, files in os.walk(self.shard_dir) for f in files
            if osp.basename(root).startswith('rank'))


def summarize_phase(args, shard_dir: str) -> dict:
    strategy = build(args.strategy, args.strategy_args)
    pool = SyntheticPool(
        args.num_classes,
        args.feat_dim,
        args.img_feat_dim,
        args.dets,
        args.confusion,
        args.seed,
        isotropic=args.distribution == 'isotropic')
    need = set(strategy.requires)
    labeled = np.arange(args.num_images, args.num_images + args.labeled)
    scored = np.arange(args.num_images)
    if strategy.uses_labeled:
        scored = np.concatenate([scored, labeled])
    t_gen = t_sum = 0.0
    writer = ShardWriter(shard_dir, args.shard_size)
    protos = []
    t_start = time.perf_counter()
    for n, i in enumerate(scored.tolist()):
        t0 = time.perf_counter()
        fields = pool.image(i, need)
        t1 = time.perf_counter()
        summary = strategy.summarize(fields)
        t2 = time.perf_counter()
        t_gen += t1 - t0
        t_sum += t2 - t1
        del fields
        if 'classes' in summary:
            protos.append(len(summary['classes']))
        writer.add(i, summary)
        if n and n % 20000 == 0:
            print(
                f'  summarized {n}/{len(scored)} images '
                f'({time.perf_counter() - t_start:.0f} s)',
                flush=True)
    writer.flush()
    wall = time.perf_counter() - t_start
    nbytes = writer.finish(labeled, *class_counts(pool, labeled))
    out = dict(
        scored_images=int(len(scored)),
        shards=writer.writer.chunk,
        summarize_s=t_sum,
        summarize_ms_per_image=1e3 * t_sum / len(scored),
        summarize_images_per_s=len(scored) / t_sum,
        generate_s=t_gen,
        write_shard_s=writer.seconds,
        phase1_wall_s=wall,
        phase1_peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        / 2**20,
        shard_bytes=int(nbytes),
        shard_bytes_per_image=nbytes / len(scored))
    if protos:
        out['classes_per_image_mean'] = float(np.mean(protos))
        out['classes_per_image_max'] = int(np.max(protos))
    with open(osp.join(shard_dir, 'phase1.json'), 'w') as f:
        json.dump(dict(signature=_signature(args), result=out), f, indent=1)
    return out


def _bib_summary_args(args) -> dict:
    """The BiB settings that change the stored summaries."""
    sa = json.loads(args.strategy_args)
    return {
        k: sa[k]
        for k in ('projection_dim', 'projection_seed') if sa.get(k) is not None
    }


def _bib_counts(args) -> np.ndarray:
    """Pairs per image: the pool's (``--pairs`` in all), then the labeled
    images' (as many per image on average)."""
    pool = pair_counts(args.num_images, args.pairs, args.no_pair_share,
                       args.max_pairs,
                       np.random.default_rng([args.seed, 2**31 + 1]))
    lab_pairs = int(round(args.pairs * args.labeled / max(args.num_images, 1)))
    lab = pair_counts(args.labeled, lab_pairs, args.no_pair_share,
                      args.max_pairs,
                      np.random.default_rng([args.seed, 2**31 + 3]))
    return np.concatenate([pool, lab])


def _bib_pair_dim(args) -> int:
    return _bib_summary_args(args).get('projection_dim') or 2 * args.bib_dim


def bib_shard_bytes(args) -> int:
    """Estimated size of the BiB shards: the fp16 pair features, 40 bytes
    of boxes and label per pair, ~1 KiB per image (detections, headers)."""
    images = args.num_images + args.labeled
    pairs = args.pairs + int(
        round(args.pairs * args.labeled / max(args.num_images, 1)))
    return pairs * (2 * _bib_pair_dim(args) + 40) + images * 1024


def check_free_space(path: str, need: int) -> None:
    free = shutil.disk_usage(path).free
    want = int(need * 1.05) + 2**29
    if free < want:
        raise SystemExit(
            f'not enough disk space under {path}: the shards need about '
            f'{need / 2**30:.1f} GiB (+5 % and 0.5 GiB margin = '
            f'{want / 2**30:.1f} GiB), {free / 2**30:.1f} GiB is free. Pass '
            '--work-dir on a larger disk, or make the pool smaller '
            '(--pairs, --bib-dim, --projection-dim, --num-images).')


def bib_phase(args, shard_dir: str) -> dict:
    """Phase 1 of the BiB case: draw the summaries (no ``summarize``) and
    stream them to shards, ``--shard-size`` images at a time."""
    strategy = build(args.strategy, args.strategy_args)
    projection = None
    if getattr(strategy, 'projection_dim', None):
        # the projection BiB.summarize applies, from its own seed
        projection = strategy._project(2 * args.bib_dim)
    counts = _bib_counts(args)
    pool = SyntheticPairs(
        counts,
        args.bib_dim,
        args.num_classes,
        args.clusters,
        args.seed,
        projection,
        isotropic=args.distribution == 'isotropic')
    n_all = len(counts)
    labeled = np.arange(args.num_images, n_all)
    boxes = np.zeros(args.num_classes, np.int64)
    images = np.zeros(args.num_classes, np.int64)
    t_gen = 0.0
    writer = ShardWriter(shard_dir, args.shard_size)
    t_start = time.perf_counter()
    for i in range(n_all):
        t0 = time.perf_counter()
        summary = pool.image(i)
        t_gen += time.perf_counter() - t0
        if i >= args.num_images:
            np.add.at(boxes, summary['det_labels'], 1)
            images[np.unique(summary['det_labels'])] += 1
        writer.add(i, summary)
        if i and i % 10000 == 0:
            print(
                f'  drew {i:,}/{n_all:,} images '
                f'({time.perf_counter() - t_start:.0f} s)',
                flush=True)
    writer.flush()
    wall = time.perf_counter() - t_start
    nbytes = writer.finish(labeled, boxes, images)
    pool_counts = counts[:args.num_images]
    out = dict(
        scored_images=int(n_all),
        pairs=int(pool_counts.sum()),
        images_with_pairs=int((pool_counts > 0).sum()),
        pairs_per_image_mean=float(pool_counts.mean()),
        pairs_per_image_max=int(pool_counts.max()),
        pairs_per_image_p99=float(np.percentile(pool_counts, 99)),
        labeled_pairs=int(counts[args.num_images:].sum()),
        pair_dim=int(pool.out_dim),
        shards=writer.writer.chunk,
        generate_s=t_gen,
        write_shard_s=writer.seconds,
        phase1_wall_s=wall,
        phase1_peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        / 2**20,
        shard_bytes=int(nbytes),
        shard_gib=nbytes / 2**30,
        shard_bytes_per_image=nbytes / n_all)
    with open(osp.join(shard_dir, 'phase1.json'), 'w') as f:
        json.dump(dict(signature=_signature(args), result=out), f, indent=1)
    return out


# ---------------------------------------------------------------------------
# phase 2: select (run in a child process)
def _rss_gib() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 2**20
    return float('nan')


def _profiled(fn, enabled):
    if not enabled:
        return fn(), ''
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats('cumulative').print_stats(18)
    return result, s.getvalue()


def select_phase(args, shard_dir: str) -> dict:
    from mmal.active_learning.summary_store import SummaryStore
    from mmal.strategies import SelectionContext, check_selection
    strategy = build(args.strategy, args.strategy_args)
    ctx = np.load(osp.join(shard_dir, 'context.npz'))
    rss0 = _rss_gib()
    t0 = time.perf_counter()
    summaries, prof_load = _profiled(lambda: SummaryStore(shard_dir).read(),
                                     args.profile)
    t1 = time.perf_counter()
    rss_loaded = _rss_gib()
    context = SelectionContext(
        labeled_ids=ctx['labeled_ids'],
        class_counts=ctx['class_counts'],
        class_image_counts=ctx['class_image_counts'],
        num_classes=args.num_classes,
        cycle=0)
    labeled = np.isin(summaries.ids, ctx['labeled_ids'])
    if strategy.uses_labeled:
        context.labeled_summaries = summaries.take(summaries.ids[labeled])
    summaries = summaries.take(summaries.ids[~labeled])
    ids = summaries.ids
    rng = np.random.default_rng(args.seed)
    t2 = time.perf_counter()
    selection, prof_select = _profiled(
        lambda: strategy.select(summaries, args.budget, context, rng),
        args.profile)
    selection = check_selection(strategy, selection, ids, args.budget)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out = dict(
        pool_images=int(len(ids)),
        selected=int(len(selection.ids)),
        unique_selected=int(np.unique(selection.ids).size),
        # the picks, to compare two versions of the code on one pool
        ids_sha256=hashlib.sha256(
            np.asarray(selection.ids, np.int64).tobytes()).hexdigest(),
        load_s=t1 - t0,
        select_s=t3 - t2,
        rss_after_imports_gib=rss0,
        rss_after_load_gib=rss_loaded,
        peak_rss_gib=peak,
        extra={
            k: v
            for k, v in selection.extra.items() if isinstance(v, (int, float))
        })
    if args.profile:
        out['profile_load'] = prof_load
        out['profile_select'] = prof_select
    return out


# ---------------------------------------------------------------------------
def describe_input(args, requires) -> str:
    """What the strategy reads per image, for the table."""
    parts = []
    if {'feats', 'scores', 'labels', 'bboxes', 'cls_probs'} & set(requires):
        feat = f' x {args.feat_dim}-d' if 'feats' in requires else ''
        parts.append(f'{args.dets} dets{feat}, C={args.num_classes}')
    if 'img_feat' in requires:
        parts.append(f'{args.img_feat_dim}-d img_feat')
    return ' + '.join(parts) or '-'


def table_row(args, requires, uses_labeled, r1: dict, r2: dict) -> str:
    labeled = f'{args.labeled:,}' + (' (centres)' if uses_labeled else '')
    return (f'| {args.strategy} | {r2["pool_images"]:,} | {labeled} | '
            f'{describe_input(args, requires)} | {args.budget:,} | '
            f'{r1["summarize_ms_per_image"]:.2f} | '
            f'{r1["summarize_images_per_s"]:,.0f} | '
            f'{r1["shard_bytes_per_image"] / 1024:.1f} | '
            f'{r2["load_s"]:.1f} | {r2["select_s"]:.1f} | '
            f'{r2["peak_rss_gib"]:.2f} |')


HEADER = ('| strategy | pool | labeled | per image | budget | '
          'summarize ms/img | img/s | shard KiB/img | load s | select s | '
          'peak RSS GiB |\n|' + '---|' * 11)

BIB_HEADER = ('| strategy | pool | pairs (images with pairs) | pair dim | '
              'budget | settings | phase 1 s | shards GiB | load s | '
              'select s | peak RSS GiB | by_bib / filled |\n|' + '---|' * 12)


def bib_settings(strategy) -> str:
    trials = strategy.local_trials
    return (f'local_trials={trials}, {strategy.sampling}, '
            f'device={strategy.device}, block {strategy.block_size}')


def bib_table_row(args, strategy, r1: dict, r2: dict) -> str:
    extra = r2['extra']
    pool = f'{r2["pool_images"]:,}'
    if args.labeled:
        pool += f' + {args.labeled:,} labeled'
    return (f'| {args.strategy} | {pool} | {r1["pairs"]:,} '
            f'({r1["images_with_pairs"]:,}) | {r1["pair_dim"]:,} | '
            f'{args.budget:,} | {bib_settings(strategy)} '
            f'(trials {extra.get("local_trials", "-")}) | '
            f'{r1["phase1_wall_s"]:.0f} | {r1["shard_gib"]:.2f} | '
            f'{r2["load_s"]:.1f} | {r2["select_s"]:.1f} | '
            f'{r2["peak_rss_gib"]:.2f} | {extra.get("by_bib", "-")} / '
            f'{extra.get("filled", "-")} |')


def _mem_total_gib() -> float:
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float('nan')


def main(argv=None):
    args = parse_args(argv)
    if args.select_only:
        out = select_phase(args, args.select_only)
        print('@@RESULT@@' + json.dumps(out))
        return
    tmp = args.work_dir is None
    work_dir = tempfile.mkdtemp(
        prefix='bench_acq_') if tmp else osp.abspath(args.work_dir)
    shard_dir = osp.join(work_dir, 'shards')
    phase1 = osp.join(shard_dir, 'phase1.json')
    try:
        r1 = None
        if args.reuse and osp.exists(phase1):
            with open(phase1) as f:
                old = json.load(f)
            if old['signature'] == _signature(args):
                r1 = old['result']
                print(f'reusing the shards in {shard_dir}')
        if r1 is None:
            if osp.isdir(shard_dir):
                shutil.rmtree(shard_dir)
            os.makedirs(shard_dir)
            if args.bib:
                need = bib_shard_bytes(args)
                check_free_space(shard_dir, need)
                print(
                    f'phase 1: draw the BiB summaries of '
                    f'{args.num_images:,} pool images ({args.pairs:,} '
                    f'pairs of {_bib_pair_dim(args):,}-d) + '
                    f'{args.labeled:,} labeled ones, about '
                    f'{need / 2**30:.1f} GiB -> {shard_dir}',
                    flush=True)
                r1 = bib_phase(args, shard_dir)
            else:
                print(
                    f'phase 1: summarize {args.num_images:,} pool images '
                    f'(+ {args.labeled:,} labeled ones if {args.strategy} '
                    f'uses them) -> {shard_dir}',
                    flush=True)
                r1 = summarize_phase(args, shard_dir)
        print('phase 1: ' + json.dumps(r1), flush=True)
        cmd = [sys.executable, osp.abspath(__file__)
               ] + (argv if argv is not None else
                    sys.argv[1:]) + ['--select-only', shard_dir]
        print('phase 2: select in a fresh process', flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        lines = [
            ln for ln in proc.stdout.splitlines()
            if ln.startswith('@@RESULT@@')
        ]
        if proc.returncode or not lines:
            sys.stdout.write(proc.stdout)
            raise SystemExit(f'select phase failed (exit {proc.returncode})')
        r2 = json.loads(lines[-1][len('@@RESULT@@'):])
        profiles = [r2.pop(k, '') for k in ('profile_load', 'profile_select')]
        print('phase 2: ' + json.dumps(r2))
        if args.profile:
            print('--- profile: SummaryStore.read ---\n' + profiles[0])
            print('--- profile: select ---\n' + profiles[1])
        import mmdet
        import torch
        result = dict(
            args=_signature(args),
            budget=args.budget,
            summarize=r1,
            select=r2,
            machine=dict(
                cpus=os.cpu_count(),
                mem_total_gib=_mem_total_gib(),
                torch_threads=torch.get_num_threads(),
                loadavg=os.getloadavg(),
                python=sys.version.split()[0],
                numpy=np.__version__,
                torch=torch.__version__,
                mmdet=mmdet.__version__))
        print()
        strategy = build(args.strategy, args.strategy_args)
        if args.bib:
            extra = r2['extra']
            print(f'BiB: {r1["pairs"]:,} pairs of {r1["pair_dim"]:,}-d in '
                  f'{r1["images_with_pairs"]:,} of {args.num_images:,} '
                  f'images (max {r1["pairs_per_image_max"]} per image); '
                  f'phase 1 {r1["phase1_wall_s"]:.1f} s, '
                  f'{r1["shard_gib"]:.2f} GiB of shards; load '
                  f'{r2["load_s"]:.1f} s, select {r2["select_s"]:.1f} s, '
                  f'peak RSS {r2["peak_rss_gib"]:.2f} GiB; by_bib '
                  f'{extra.get("by_bib")}, filled {extra.get("filled")}, '
                  f'local_trials {extra.get("local_trials")}; '
                  f'{r2["unique_selected"]} unique ids for budget '
                  f'{args.budget}')
            print(BIB_HEADER)
            print(bib_table_row(args, strategy, r1, r2))
        else:
            print(HEADER)
            print(
                table_row(args, strategy.requires, strategy.uses_labeled, r1,
                          r2))
        done = r2['extra'].get('distances_computed')
        if done is not None:
            skipped = r2['extra'].get('distances_skipped', 0)
            print(f'distances ({args.distribution}): {done:,} computed, '
                  f'{skipped:,} skipped '
                  f'({100 * skipped / max(done + skipped, 1):.1f} % of the '
                  'unpruned algorithm\'s)')
        if args.json_out:
            with open(args.json_out, 'w') as f:
                json.dump(result, f, indent=1)
    finally:
        if not args.keep:
            if tmp:
                shutil.rmtree(work_dir, ignore_errors=True)
            else:
                shutil.rmtree(shard_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
