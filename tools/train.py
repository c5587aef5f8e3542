"""Train (and validate) a detector from an mmal / mmdet config.

    python tools/train.py configs/toy/faster-rcnn_r18_fpn_toy.py
    python -m torch.distributed.run --nproc_per_node 8 tools/train.py \
        CONFIG --launcher pytorch
"""
import argparse

from mmengine.config import Config
from mmengine.runner import Runner

from mmal.testing import prepare_toy_data
from mmal.utils.config import (add_launch_args, apply_effective_batch,
                               load_config, parse_launch_args)
from mmal.utils.setup_env import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    add_launch_args(parser)
    return parse_launch_args(parser)


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return apply_effective_batch(cfg)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    prepare_toy_data(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
