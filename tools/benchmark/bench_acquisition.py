"""Acquisition at COCO scale on a synthetic pool: the real strategy's
``summarize`` and ``select`` and the real shard I/O, without a detector.

    python tools/benchmark/bench_acquisition.py --strategy enms-divproto
    python tools/benchmark/bench_acquisition.py --strategy core-set \
        --num-images 94630 --labeled 23657
    python tools/benchmark/bench_acquisition.py --strategy enms-divproto \
        --quick

Phase 1 (summarize), in this process: every image's detector fields are
drawn from a seeded generator, one image at a time, passed to the
strategy's ``summarize`` and streamed to npz shards with the runner's own
``write_shard`` (``shard_size`` images a file), so the raw per-image fields
are never all in memory. Reported: time in ``summarize`` alone (ms/image,
images/s), time spent generating and writing, and shard bytes per image.

Phase 2 (select), in a fresh subprocess so its peak RSS is that of the
select phase alone (plus the imports the runner has too: torch, mmengine):
``read_shards`` of the folder, then ``strategy.select`` (and
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
"""
import argparse
import cProfile
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

import numpy as np

QUICK = dict(num_images=2000, labeled=400, budget=100)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Benchmark an acquisition strategy at COCO scale on a '
        'synthetic pool (real summarize / write_shard / read_shards / '
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
        default=118287,
        help='unlabeled images scored and given to select')
    p.add_argument('--dets', type=int, default=100, help='detections/image')
    p.add_argument('--feat-dim', type=int, default=1024)
    p.add_argument('--num-classes', type=int, default=80)
    p.add_argument('--budget', type=int, default=5914)
    p.add_argument(
        '--labeled',
        type=int,
        default=None,
        help='labeled images (default: 0.2 x --num-images)')
    p.add_argument('--img-feat-dim', type=int, default=2048)
    p.add_argument(
        '--confusion',
        type=float,
        default=0.15,
        help='share of detections labeled with another class')
    p.add_argument('--seed', type=int, default=0)
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
        help='smoke run: 2,000 images, 400 labeled, budget 100')
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
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    if args.labeled is None:
        args.labeled = int(round(0.2 * args.num_images))
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
                 clusters: int = 64):
        self.c = num_classes
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
        if 'img_feat' in need:
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


# ---------------------------------------------------------------------------
# phase 1: summarize
def _signature(args) -> dict:
    keys = ('strategy', 'strategy_args', 'num_images', 'dets', 'feat_dim',
            'num_classes', 'labeled', 'img_feat_dim', 'confusion', 'seed',
            'shard_size')
    return {k: getattr(args, k) for k in keys}


def summarize_phase(args, shard_dir: str) -> dict:
    from mmal.active_learning.acquisition import write_shard
    strategy = build(args.strategy, args.strategy_args)
    pool = SyntheticPool(args.num_classes, args.feat_dim, args.img_feat_dim,
                         args.dets, args.confusion, args.seed)
    need = set(strategy.requires)
    labeled = np.arange(args.num_images, args.num_images + args.labeled)
    scored = np.arange(args.num_images)
    if strategy.uses_labeled:
        scored = np.concatenate([scored, labeled])
    t_gen = t_sum = t_write = 0.0
    buf_ids, buf, chunk = [], [], 0
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
        buf_ids.append(i)
        buf.append(summary)
        if len(buf) >= args.shard_size or n == len(scored) - 1:
            t3 = time.perf_counter()
            write_shard(
                osp.join(shard_dir, f'rank0-{chunk:05d}.npz'), buf_ids, buf)
            t_write += time.perf_counter() - t3
            chunk += 1
            buf_ids, buf = [], []
        if n and n % 20000 == 0:
            print(
                f'  summarized {n}/{len(scored)} images '
                f'({time.perf_counter() - t_start:.0f} s)',
                flush=True)
    wall = time.perf_counter() - t_start
    boxes, images = class_counts(pool, labeled)
    np.savez(
        osp.join(shard_dir, 'context.npz'),
        labeled_ids=labeled,
        class_counts=boxes,
        class_image_counts=images)
    nbytes = sum(
        osp.getsize(osp.join(shard_dir, f)) for f in os.listdir(shard_dir)
        if f.startswith('rank'))
    out = dict(
        scored_images=int(len(scored)),
        shards=chunk,
        summarize_s=t_sum,
        summarize_ms_per_image=1e3 * t_sum / len(scored),
        summarize_images_per_s=len(scored) / t_sum,
        generate_s=t_gen,
        write_shard_s=t_write,
        phase1_wall_s=wall,
        shard_bytes=int(nbytes),
        shard_bytes_per_image=nbytes / len(scored))
    if protos:
        out['classes_per_image_mean'] = float(np.mean(protos))
        out['classes_per_image_max'] = int(np.max(protos))
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
    from mmal.active_learning.acquisition import read_shards
    from mmal.strategies import SelectionContext, check_selection
    strategy = build(args.strategy, args.strategy_args)
    ctx = np.load(osp.join(shard_dir, 'context.npz'))
    rss0 = _rss_gib()
    t0 = time.perf_counter()
    summaries, prof_load = _profiled(lambda: read_shards(shard_dir),
                                     args.profile)
    t1 = time.perf_counter()
    rss_loaded = _rss_gib()
    context = SelectionContext(
        labeled_ids=ctx['labeled_ids'],
        class_counts=ctx['class_counts'],
        class_image_counts=ctx['class_image_counts'],
        num_classes=args.num_classes,
        cycle=0)
    if strategy.uses_labeled:
        context.labeled_summaries = {
            int(i): summaries.pop(int(i))
            for i in ctx['labeled_ids']
        }
    ids = np.fromiter(summaries, dtype=np.int64)
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
            print('--- profile: read_shards ---\n' + profiles[0])
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
                loadavg=os.getloadavg(),
                python=sys.version.split()[0],
                numpy=np.__version__,
                torch=torch.__version__,
                mmdet=mmdet.__version__))
        print()
        print(HEADER)
        strategy = build(args.strategy, args.strategy_args)
        print(
            table_row(args, strategy.requires, strategy.uses_labeled, r1, r2))
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
