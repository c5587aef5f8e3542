"""Time per iteration of a MIST detector on CPU (or GPU), one image.

    python tools/benchmark/bench_mist.py                       # VOC07 config
    python tools/benchmark/bench_mist.py --config \
        configs/mist/mist_vgg16-tiny_toy.py --size 128 --proposals 200

Builds the config's model with random weights (nothing downloads), makes
one synthetic image of ``--size`` pixels on its short side (VOC-like 4:3)
with ``--proposals`` random proposals and two positive image labels, and
times, after ``--warmup`` untimed rounds, ``--iters`` rounds of:

* ``train``: ``model.loss`` + backward (a weakly-annotated image: MIL +
  3 refinement branches with MIST pseudo boxes), and the same for a fully
  annotated image (DifS + Fast R-CNN losses);
* ``test``: ``model.predict`` (averaged branches, NMS), and the same with
  the fields ``cls_probs feats loss`` the acquisition pool pass asks for,
  with BiB's ``feats`` (the proposals' fc7, ``pair_features='proposals'``)
  and with BiB's default ``box_feats query_feats`` (one more RoI-head pass
  over the final boxes and ``--query-boxes`` given boxes, those of a
  labeled image's recorded pairs).

Reports mean and min milliseconds per image for each, and the threads
torch uses (``--threads`` sets them).
"""
import argparse
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config', default='configs/mist/mist_vgg16_cdb_voc07.py')
    parser.add_argument(
        '--size', type=int, default=600, help='short side in pixels')
    parser.add_argument('--proposals', type=int, default=2000)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--query-boxes',
        type=int,
        default=20,
        help='boxes given for query_feats (two per recorded pair)')
    return parser.parse_args()


def _sample(size, num_props, strong, num_classes, device):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(0)
    h, w = size, size * 4 // 3
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w),
            ori_shape=(h, w),
            scale_factor=(1.0, 1.0),
            pad_shape=(h, w),
            batch_input_shape=(h, w),
            image_labels=[0, num_classes - 1],
            fully_annotated=strong))
    xy = torch.rand(num_props, 2, generator=g) * torch.tensor([w, h]) * 0.8
    wh = torch.rand(num_props, 2, generator=g) * min(h, w) * 0.5 + 8
    boxes = torch.cat([xy, xy + wh], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(max=w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(max=h)
    sample.proposals = InstanceData(bboxes=boxes.to(device))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 10, w / 2, h / 2],
                             [w / 2, h / 3, w - 10, h - 10]]).to(device),
        labels=torch.tensor([0, num_classes - 1]).to(device))
    return sample


def _time(fn, iters, warmup, device):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if device != 'cpu':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device != 'cpu':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return 1000 * sum(times) / len(times), 1000 * min(times)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from mmal.registry import MODELS
    from mmal.utils.setup_env import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, args.config))
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model).to(args.device)
    model.init_weights()
    num_classes = model.roi_head.num_classes
    g = torch.Generator().manual_seed(0)
    h, w = args.size, args.size * 4 // 3
    image = (torch.rand(1, 3, h, w, generator=g) * 2 - 1).to(args.device)
    rows = []
    for strong in (False, True):
        sample = _sample(args.size, args.proposals, strong, num_classes,
                         args.device)

        def train_step():
            model.train()
            model.zero_grad(set_to_none=True)
            sum(model.loss(image, [sample]).values()).backward()

        name = 'train, fully annotated' if strong else 'train, weak'
        rows.append(
            (name, *_time(train_step, args.iters, args.warmup, args.device)))
    sample = _sample(args.size, args.proposals, False, num_classes,
                     args.device)
    from mmal.models.probes.field_provider import QUERY_BOXES_KEY
    sample.set_metainfo(
        {QUERY_BOXES_KEY: sample.proposals.bboxes[:args.query_boxes].cpu()})
    for fields in ((), ('cls_probs', 'feats', 'loss'), ('feats', ),
                   ('box_feats', 'query_feats')):

        @torch.no_grad()
        def test_step():
            model.eval()
            model.request_fields(fields)
            model.predict(image, [sample])

        name = 'test' + (f' + {" ".join(fields)}' if fields else '')
        rows.append(
            (name, *_time(test_step, args.iters, args.warmup, args.device)))
    model.request_fields(())
    print(f'{args.config}: image {h} x {w}, {args.proposals} proposals, '
          f'{num_classes} classes, device {args.device}, '
          f'{torch.get_num_threads()} threads')
    print(f'{"phase":<36}{"mean ms":>10}{"min ms":>10}')
    for name, mean, best in rows:
        print(f'{name:<36}{mean:>10.0f}{best:>10.0f}')


if __name__ == '__main__':
    main()
