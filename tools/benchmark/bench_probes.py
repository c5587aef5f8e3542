"""Cost of the probe adapter :func:`mmal.models.probes.build_probe` picks
over a plain ``model.test_step(batch)``, per detector config.

    python tools/benchmark/bench_probes.py                  # every config
    python tools/benchmark/bench_probes.py --images 4 \
        --configs configs/toy/ssd_r18_toy.py
    python tools/benchmark/bench_probes.py --images 2 \
        --configs mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py  # mmdet's

Each detector is built from its config, randomly initialised (any
``Pretrained`` ``init_cfg`` is dropped, so nothing downloads), with every
test-time score threshold set to 0 and ``max_per_img`` to 100 (so an image
has 100 detections, as a trained detector has at ``score_thr = 0.05``).
Images come from :func:`mmal.datasets.toy_shapes.make_toy_benchmark` in a
temporary folder, through each config's own test pipeline (its resize:
800 x 800 for the COCO configs, 300 x 300 for SSD300, 128 x 128 for the toy
ones) and batch size. The same batches run through ``model.test_step`` and
through the adapter's ``run`` with the fields ``bboxes scores labels
cls_probs feats img_feat``, alternating which goes first from batch to
batch, after a warm-up; the probe's scores are checked against the plain
run's. Reported: ms/image of each, the overhead (total probe time / total
plain time - 1), the median of the per-batch ratios, and the time the probe
spends after the forward pass (tracing detections back to their source,
pooling the image feature), with the calls per image that decode source
boxes (once for every source of a head with class-agnostic boxes, which
looks detections up by box; otherwise once per class whose detections'
scores several sources share) and the boxes they decode.

Random weights give every anchor / proposal nearly the same class
probabilities, far more ties than a trained detector has: ``--checkpoints``
loads trained weights instead (e.g. the toy detectors' checkpoints), and
``--score-tol`` sets the probe's matching tolerance.
"""
import argparse
import contextlib
import cProfile
import io
import logging
import os
import os.path as osp
import pstats
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [
    'configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    'configs/retinanet/retinanet_r50_fpn_enms-1x_coco.py',
    'configs/ssd/ssd300_vgg16_ll4al_voc0712.py',
    'configs/toy/faster-rcnn_r18_fpn_toy.py',
    'configs/toy/retinanet_r18_fpn_toy.py',
    'configs/toy/ssd_r18_toy.py',
]
#: Query-based detectors, from mmdet's own configs (``mmdet::`` names).
QUERY_CONFIGS = [
    'mmdet::detr/detr_r50_8xb2-150e_coco.py',
    'mmdet::deformable_detr/'
    'deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    'mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py',
]
#: Dense / one-stage detectors and Cascade R-CNN, from mmdet's own configs.
DENSE_CONFIGS = [
    'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'mmdet::tood/tood_r50_fpn_1x_coco.py',
    'mmdet::vfnet/vfnet_r50_fpn_1x_coco.py',
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',
    'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py',
    'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
]
FIELDS = ('bboxes', 'scores', 'labels', 'cls_probs', 'feats', 'img_feat')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='probe adapter overhead over plain test_step')
    p.add_argument(
        '--configs',
        nargs='+',
        default=CONFIGS + QUERY_CONFIGS + DENSE_CONFIGS)
    p.add_argument(
        '--device',
        default='cpu',
        help="'cpu' (default) or 'cuda' (if available)")
    p.add_argument(
        '--images', type=int, default=8, help='timed images per config')
    p.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help="default: the config's test batch size (at most --images)")
    p.add_argument(
        '--warmup', type=int, default=1, help='untimed batches first')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--max-per-img', type=int, default=100)
    p.add_argument(
        '--cls-std',
        type=float,
        default=None,
        help='re-draw the weights of the classification output layers '
        'from N(0, std) (mmdet initialises them with std 0.01 or so, which '
        'gives all sources nearly the same class probabilities, unlike a '
        'trained detector); default: keep mmdet\'s init')
    p.add_argument(
        '--checkpoints',
        nargs='+',
        default=None,
        help='one checkpoint per --configs entry (or "none"): load trained '
        'weights instead of a random init')
    p.add_argument(
        '--score-tol',
        type=float,
        default=None,
        help="the probe's score_tol, relative to the score (default: "
        "the probe's own, 1e-6)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--profile',
        action='store_true',
        help='print the top cProfile entries of the probe runs')
    p.add_argument('--json-out', default=None)
    args = p.parse_args(argv)
    if args.checkpoints is not None and len(args.checkpoints) != len(
            args.configs):
        p.error('--checkpoints needs one entry per --configs entry')
    return args


def strip_pretrained(node):
    """Drop every ``init_cfg`` that loads pretrained weights, in place."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        items = init if isinstance(init, list) else [init]
        if any(
                isinstance(i, dict) and i.get('type') == 'Pretrained'
                for i in items):
            node['init_cfg'] = None
        for v in node.values():
            strip_pretrained(v)
    elif isinstance(node, list):
        for v in node:
            strip_pretrained(v)


def low_thresholds(test_cfg, max_per_img: int) -> None:
    """score_thr 0 and ``max_per_img`` on the final stage of ``test_cfg``."""
    final = test_cfg.get('rcnn', test_cfg)
    final.score_thr = 0.0
    final.max_per_img = max_per_img


def cls_layers(model):
    """The layers that output class logits (Faster R-CNN ``fc_cls``, every
    Cascade R-CNN stage's, RetinaNet ``retina_cls``, the dense-head
    adapters' ``cls_layers``, the last conv of each SSD ``cls_convs``)."""
    from mmal.models.probes import (DenseHeadProbe, GFLHeadProbe,
                                    TOODHeadProbe, YOLOXHeadProbe)
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is not None:
        heads = roi_head.bbox_head
        heads = heads if isinstance(heads, torch.nn.ModuleList) else [heads]
        return [h.fc_cls for h in heads]  # every Cascade R-CNN stage
    head = model.bbox_head
    if hasattr(head, 'retina_cls'):
        return [head.retina_cls]
    known = next(
        (a.cls_layer(head)
         for a in (DenseHeadProbe, GFLHeadProbe, TOODHeadProbe, YOLOXHeadProbe)
         if a.cls_layer(head)), None)
    if known is not None:  # the dense-head adapters' classification layers
        layer = getattr(head, known)
        return list(layer) if isinstance(layer, torch.nn.ModuleList) \
            else [layer]
    out = []
    for branch in head.cls_convs:
        convs = [m for m in branch.modules() if isinstance(m, torch.nn.Conv2d)]
        out.append(convs[-1])
    return out


@torch.no_grad()
def spread_cls_weights(model, std: float) -> None:
    for layer in cls_layers(model):
        layer.weight.normal_(0.0, std)


def make_images(root: str, num: int) -> dict:
    from mmal.testing.toy_shapes import make_toy_benchmark
    return make_toy_benchmark(root, num_train=1, num_val=num, seed=0)


def load_config(config: str):
    """The config of a path under the repository or an ``mmdet::`` name."""
    from mmengine.config import Config
    if '::' in config:  # resolved through _base_ (mmengine's scopes)
        return Config.fromstring(f'_base_ = {config!r}', '.py')
    return Config.fromfile(osp.join(REPO, config))


def build(config: str, root: str, ann_file: str, args, checkpoint=None):
    from mmengine.runner import Runner

    from mmal.active_learning import innermost_dataset
    from mmal.registry import MODELS
    cfg = load_config(config)
    strip_pretrained(cfg.model)
    low_thresholds(cfg.model.test_cfg, args.max_per_img)
    loader = cfg.test_dataloader
    ds = innermost_dataset(loader.dataset)
    import json
    with open(ann_file) as f:
        classes = tuple(c['name'] for c in json.load(f)['categories'])
    ds.data_root = root
    ds.ann_file = ann_file
    ds.data_prefix = dict(img='val/')
    ds.metainfo = dict(classes=classes)
    # As the acquisition runner does: images only, no annotations needed.
    ds.pipeline = [
        t for t in ds.pipeline
        if t.get('type') not in ('LoadAnnotations', 'mmdet.LoadAnnotations')
    ]
    loader.batch_size = min(
        args.batch_size or loader.get('batch_size', 1), args.images)
    loader.num_workers = 0
    loader.persistent_workers = False
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if args.cls_std is not None:
        spread_cls_weights(model, args.cls_std)
    if checkpoint:
        from mmal.utils.checkpoint import load_checkpoint_safely
        state = load_checkpoint_safely(checkpoint, map_location='cpu')
        state = state.get('state_dict', state)
        missing = model.load_state_dict(state, strict=False).missing_keys
        if missing:
            raise SystemExit(f'{checkpoint} does not fit {config}: missing '
                             f'{missing[:5]}')
    model.to(args.device)
    model.eval()
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools chatter
        batches = list(Runner.build_dataloader(loader))
    return model, batches, loader.batch_size


class TimedProbe:
    """Adds up the time a probe spends after the forward pass, and counts
    the calls that decode source boxes (``decodes``) and the boxes they
    decode (``boxes``)."""

    def __init__(self, probe):
        self.reset()
        for name in ('_img_feat', '_trace'):
            fn = getattr(probe, name, None)
            if fn is not None:
                setattr(probe, name, self._wrap(fn))
        match = getattr(probe, '_match', None)
        if match is None:  # an adapter that does not trace by score
            return

        def counted_match(probs_fg, sample, decode):

            def counted_decode(rows, classes):
                self.decodes += 1
                self.boxes += int(rows.numel())
                return decode(rows, classes)

            return match(probs_fg, sample, counted_decode)

        probe._match = counted_match

    def reset(self):
        self.seconds = 0.0
        self.decodes = 0
        self.boxes = 0

    def _wrap(self, fn):

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t

        return timed


def bench_config(config: str,
                 root: str,
                 ann_file: str,
                 args,
                 checkpoint=None) -> dict:
    from mmal.models.probes import build_probe
    model, batches, batch_size = build(config, root, ann_file, args,
                                       checkpoint)
    sync = (
        torch.cuda.synchronize if str(args.device).startswith('cuda') else
        (lambda: None))
    tol = {} if args.score_tol is None else dict(score_tol=args.score_tol)
    probe = build_probe(model, FIELDS, **tol)
    timer = TimedProbe(probe)
    prof = cProfile.Profile() if args.profile else None

    def plain(batch):
        sync()
        t = time.perf_counter()
        with torch.no_grad():
            out = model.test_step(batch)
        sync()
        return time.perf_counter() - t, out

    def probed(batch):
        sync()
        t = time.perf_counter()
        with probe:
            if prof is not None:
                prof.enable()
            out = probe.run(batch)
            if prof is not None:
                prof.disable()
        sync()
        return time.perf_counter() - t, out

    for batch in batches[:args.warmup]:
        plain(batch)
        probed(batch)
    if prof is not None:
        prof = cProfile.Profile()
    timer.reset()
    t_plain, t_probe, ratios, dets, n_img = [], [], [], [], 0
    for k, batch in enumerate(batches[args.warmup:]):
        if n_img >= args.images:
            break
        if k % 2 == 0:
            tp, ref = plain(batch)
            tq, res = probed(batch)
        else:
            tq, res = probed(batch)
            tp, ref = plain(batch)
        for sample, (_, fields) in zip(ref, res):
            want = sample.pred_instances.scores.float().cpu().numpy()
            if not np.allclose(want, fields['scores'], atol=1e-6):
                raise RuntimeError(f'{config}: probe scores differ from '
                                   'the plain run')
            dets.append(len(fields['scores']))
            assert fields['feats'].shape[0] == len(fields['scores'])
        t_plain.append(tp)
        t_probe.append(tq)
        ratios.append(tq / tp)
        n_img += len(ref)
    plain_ms = 1e3 * sum(t_plain) / n_img
    probe_ms = 1e3 * sum(t_probe) / n_img
    out = dict(
        config=config,
        adapter=type(probe).__name__,
        checkpoint=checkpoint,
        device=str(args.device),
        images=n_img,
        batch_size=batch_size,
        input_shape=list(batches[0]['inputs'][0].shape[-2:]),
        dets_per_image=float(np.mean(dets)),
        feat_dim=int(fields['feats'].shape[1]),
        plain_ms_per_image=plain_ms,
        probe_ms_per_image=probe_ms,
        overhead_pct=100 * (probe_ms / plain_ms - 1),
        median_batch_overhead_pct=100 * (float(np.median(ratios)) - 1),
        trace_ms_per_image=1e3 * timer.seconds / n_img,
        decodes_per_image=timer.decodes / n_img,
        boxes_decoded_per_image=timer.boxes / n_img)
    if prof is not None:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats('tottime').print_stats(15)
        out['profile'] = s.getvalue()
    return out


HEADER = (
    '| config | input | batch | dets/img | plain ms/img | '
    'probe ms/img | overhead | median batch overhead | '
    'probe after forward ms/img | decode calls/img | boxes decoded/img |\n|' +
    '---|' * 11)


def row(r: dict) -> str:
    h, w = r['input_shape']
    trained = ' (trained)' if r.get('checkpoint') else ''
    return (f'| `{osp.basename(r["config"])}`{trained} | {w} x {h} | '
            f'{r["batch_size"]} | {r["dets_per_image"]:.0f} | '
            f'{r["plain_ms_per_image"]:.1f} | {r["probe_ms_per_image"]:.1f} '
            f'| {r["overhead_pct"]:+.1f} % | '
            f'{r["median_batch_overhead_pct"]:+.1f} % | '
            f'{r["trace_ms_per_image"]:.1f} | {r["decodes_per_image"]:.1f} | '
            f'{r["boxes_decoded_per_image"]:.0f} |')


def main(argv=None):
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('--device cuda: CUDA is not available here')
    torch.set_num_threads(args.threads)
    from mmal.utils.setup_env import register_all_modules
    register_all_modules()
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init logs
    tmp = tempfile.mkdtemp(prefix='bench_probes_')
    results = []
    try:
        # enough for the warm-up batches at any config's batch size
        images = args.images + args.warmup * max(8, args.batch_size or 1)
        ann_file = make_images(tmp, images)['val']
        ckpts = args.checkpoints or [None] * len(args.configs)
        for config, ckpt in zip(args.configs, ckpts):
            ckpt = None if ckpt in (None, 'none') else ckpt
            r = bench_config(config, tmp, ann_file, args, ckpt)
            results.append(r)
            prof = r.pop('profile', None)
            print(row(r), flush=True)
            if prof:
                print(prof)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f'torch {torch.__version__}, {args.threads} threads, '
          f'device {args.device}, {os.cpu_count()} CPUs, load average '
          f'{os.getloadavg()[1]:.2f} (5 min)')
    print(HEADER)
    for r in results:
        print(row(r))
    if args.json_out:
        import json
        with open(args.json_out, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
