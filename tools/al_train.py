"""Run or resume an active-learning experiment: per cycle train ->
evaluate -> acquire, as configured by the config's ``al`` section.

    python tools/al_train.py configs/random/faster-rcnn_r18_fpn_u-random_toy.py
    tools/al_train.sh CONFIG GPUS          # torchrun, several GPUs / nodes

Re-running the same command resumes after an interruption. Exit status 3
means the manual oracle is waiting for annotations.
"""
import argparse
import os
import os.path as osp
import sys
from contextlib import contextmanager

import torch

from mmal.active_learning import (ActiveLearningLoop, AnnotationRequired,
                                  SplitError)
from mmal.strategies import StrategyError
from mmal.testing import prepare_toy_data
from mmal.utils.checkpoint import CheckpointError, UnsafeCheckpointError
from mmal.utils.config import add_launch_args, load_config, parse_launch_args
from mmal.utils.disk_space import (DiskFullError, disk_full_message,
                                   is_disk_full)
from mmal.utils.error_chain import error_chain
from mmal.utils.setup_env import register_all_modules

EXIT_NEEDS_ANNOTATION = 3
EXIT_DISK_FULL = 4


def parse_args():
    parser = argparse.ArgumentParser(description='Active-learning loop')
    parser.add_argument('config', help='config file with an "al" section')
    parser.add_argument('--work-dir', help='where the run lives')
    parser.add_argument(
        '--allow-config-change',
        action='store_true',
        help='resume even though the config changed since the run started')
    add_launch_args(parser)
    return parse_launch_args(parser)


@contextmanager
def cli_errors(tool: str):
    """Report mmal's expected failures in one line and exit with status 2
    (bad input), 3 (waiting for annotations), 4 (the disk is full) or 130
    (interrupted), without a traceback."""
    try:
        yield
    except AnnotationRequired as e:
        print(f'\n[mmal {tool}] waiting for annotations: {e}', file=sys.stderr)
        sys.exit(EXIT_NEEDS_ANNOTATION)
    except KeyboardInterrupt:
        _interrupted(tool)
    except (SplitError, StrategyError, CheckpointError,
            UnsafeCheckpointError) as e:
        print(f'\n[mmal {tool}] error: {e}', file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        if any(isinstance(x, KeyboardInterrupt) for x in error_chain(e)):
            # a library that turned Ctrl-C into its own error (mmengine's
            # config formatter raises SyntaxError for any exception)
            _interrupted(tool)
        if not is_disk_full(e):
            raise
        if not isinstance(e, DiskFullError):  # a write mmal did not wrap
            e = disk_full_message(
                getattr(e, 'filename', None) or os.getcwd(), 'writing')
        print(f'\n[mmal {tool}] error: {e}', file=sys.stderr)
        sys.exit(EXIT_DISK_FULL)


def _interrupted(tool: str) -> None:
    print(
        f'\n[mmal {tool}] interrupted: re-run the same command to resume',
        file=sys.stderr)
    sys.exit(130)


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


def finish_distributed() -> None:
    """Wait for every rank, then shut the process group down, so that no
    rank exits while the others still talk to it (gloo aborts the process
    when its threads are destroyed at exit)."""
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def main():
    args = parse_args()
    with cli_errors('al'):
        if not osp.isfile(args.config):
            raise SplitError(f'config {args.config!r} does not exist')
        register_all_modules(init_default_scope=True)
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
        init_distributed(cfg)
        prepare_toy_data(cfg)
        loop = ActiveLearningLoop(
            cfg, allow_config_change=args.allow_config_change)
        loop.run()
    finish_distributed()


if __name__ == '__main__':
    main()
