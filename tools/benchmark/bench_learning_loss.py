"""Training overhead of Learning Loss: time per training iteration of a
detector with and without its loss-prediction module.

    python tools/benchmark/bench_learning_loss.py            # toy RetinaNet
    python tools/benchmark/bench_learning_loss.py --rounds 20 --images 8

Both models are built from their configs with the same seed; the same batch
of toy images (:func:`mmal.testing.make_toy_benchmark`, in a temporary
folder) runs ``train_step`` through each, alternating, after one warm-up
round, on one thread. Reported: min and median seconds per iteration and
their ratios.
"""
import argparse
import statistics
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmal.registry import DATASETS, MODELS
from mmal.testing import make_toy_benchmark
from mmal.utils.setup_env import register_all_modules


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--plain', default='configs/toy/retinanet_r18_fpn_toy.py')
    parser.add_argument(
        '--learning-loss',
        default='configs/learning-loss/'
        'retinanet_r18_fpn_learning-loss_toy.py')
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=10)
    args = parser.parse_args()
    register_all_modules()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        make_toy_benchmark(root, num_train=args.images, num_val=2, seed=0)
        cfgs = dict(
            plain=Config.fromfile(args.plain),
            learning_loss=Config.fromfile(args.learning_loss))
        ds = cfgs['plain'].train_dataloader.dataset
        ds.data_root = root
        dataset = DATASETS.build(ds)
        batch = pseudo_collate([dataset[i] for i in range(args.images)])
        models = {}
        for name, cfg in cfgs.items():
            torch.manual_seed(0)
            model = MODELS.build(cfg.model)
            model.train()
            models[name] = (model,
                            build_optim_wrapper(
                                model,
                                dict(
                                    type='OptimWrapper',
                                    optimizer=dict(type='AdamW', lr=2e-3))))
        times = {k: [] for k in models}
        for r in range(args.rounds + 1):
            for name, (model, optim) in models.items():
                t = time.perf_counter()
                model.train_step(batch, optim)
                if r:  # round 0 warms up
                    times[name].append(time.perf_counter() - t)
    for name, v in times.items():
        print(f'{name}: min {min(v):.3f} s, median '
              f'{statistics.median(v):.3f} s per iteration ({len(v)} rounds, '
              f'batch {args.images})')
    for how, f in (('min', min), ('median', statistics.median)):
        print(f'ratio of {how}s: '
              f'{f(times["learning_loss"]) / f(times["plain"]):.3f}')


if __name__ == '__main__':
    main()
