"""Evaluate a checkpoint (loaded with weights_only=True and mmal's allowlist).

    python tools/test.py configs/toy/faster-rcnn_r18_fpn_toy.py \
        work_dirs/faster-rcnn_r18_fpn_toy/epoch_12.pth
"""
import argparse

from mmengine.runner import Runner

from mmal.testing import prepare_toy_data
from mmal.utils.checkpoint import check_checkpoint_safe
from mmal.utils.config import (add_launch_args, apply_tta, load_config,
                               parse_launch_args)
from mmal.utils.setup_env import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='write the metrics to this json file as well')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_model wraps the "
        'model and tta_pipeline replaces the test pipeline')
    add_launch_args(parser)
    return parse_launch_args(parser)


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    # Fail before building anything if the file is missing or unsafe.
    check_checkpoint_safe(args.checkpoint)
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    cfg.load_from = args.checkpoint
    if args.tta:
        try:
            apply_tta(cfg, args.config)
        except ValueError as e:
            raise SystemExit(str(e)) from None
    prepare_toy_data(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        from mmal.utils.fileio import atomic_write_json
        atomic_write_json({
            k: float(v)
            for k, v in metrics.items()
        },
                          args.out,
                          indent=2)


if __name__ == '__main__':
    main()
