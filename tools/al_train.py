"""Run or resume an active-learning experiment: per cycle train ->
evaluate -> acquire, as configured by the config's ``al`` section.

    python tools/al_train.py configs/random/faster-rcnn_r18_fpn_u-random_toy.py
    tools/al_train.sh CONFIG GPUS          # torchrun, several GPUs / nodes

Re-running the same command resumes after an interruption. Exit status 3
means the manual oracle is waiting for annotations.
"""
import argparse
import os
import sys

import torch
from mmengine.config import DictAction

from mmal.active_learning import (ActiveLearningLoop, AnnotationRequired,
                                  SplitError)
from mmal.datasets import prepare_toy_data
from mmal.strategies import StrategyError
from mmal.utils import UnsafeCheckpointError, load_config, register_all_modules

EXIT_NEEDS_ANNOTATION = 3


def parse_args():
    parser = argparse.ArgumentParser(description='Active-learning loop')
    parser.add_argument('config', help='config file with an "al" section')
    parser.add_argument('--work-dir', help='where the run lives')
    parser.add_argument(
        '--allow-config-change',
        action='store_true',
        help='resume even though the config changed since the run started')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. al.num_cycles=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def init_distributed(cfg) -> None:
    """Start torch.distributed once for all the runners of the loop: NCCL on
    GPUs, gloo on CPU (mmengine's own init assumes CUDA)."""
    if cfg.launcher == 'none':
        return
    from mmengine.dist import init_dist
    if torch.cuda.is_available():
        init_dist(cfg.launcher, **cfg.env_cfg.get('dist_cfg', {}))
    else:
        torch.distributed.init_process_group(backend='gloo')


def main():
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    init_distributed(cfg)
    try:
        prepare_toy_data(cfg)
        loop = ActiveLearningLoop(
            cfg, allow_config_change=args.allow_config_change)
        loop.run()
    except AnnotationRequired as e:
        print(f'\n[mmal al] waiting for annotations: {e}', file=sys.stderr)
        sys.exit(EXIT_NEEDS_ANNOTATION)
    except (SplitError, StrategyError, UnsafeCheckpointError) as e:
        print(f'\n[mmal al] error: {e}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
