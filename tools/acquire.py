"""Acquisition runner: score the unlabeled pool of a cycle with a checkpoint
and write the next cycle's split (the loop's acquisition step, alone).

    python tools/acquire.py CONFIG CHECKPOINT --cycle-dir work_dirs/x/cycle_2
    python -m torch.distributed.run --nproc_per_node 8 tools/acquire.py \
        CONFIG CHECKPOINT --cycle-dir DIR --launcher pytorch

The strategy, budget, seed, pool and oracle come from the config's ``al``
section. The split is written to ``--out-dir`` (default: the sibling
``cycle_<k + 1>`` of a ``cycle_<k>`` folder). Exit status 3: the manual
oracle is waiting for annotations; 2: bad input.
"""
import argparse
import os
import os.path as osp

from mmal.active_learning import ActiveLearningLoop, CycleDir, SplitError
from mmal.utils.checkpoint import check_checkpoint_safe
from mmal.utils.config import add_launch_args, load_config, parse_launch_args
from mmal.utils.setup_env import register_all_modules

from al_train import cli_errors, init_distributed  # isort: skip
from al_train import finish_distributed  # isort: skip


def parse_args():
    parser = argparse.ArgumentParser(description='Select images to label')
    parser.add_argument('config', help='config with an "al" section')
    parser.add_argument('checkpoint', help='detector checkpoint')
    parser.add_argument(
        '--cycle-dir',
        required=True,
        help='folder with the current labeled.json / unlabeled.json')
    parser.add_argument(
        '--out-dir',
        help='where to write the next split (default: '
        'cycle_<k+1> next to a cycle_<k> folder)')
    parser.add_argument(
        '--cycle',
        type=int,
        help='index of the current cycle (default: from the folder name)')
    add_launch_args(parser)
    return parse_launch_args(parser)


def main():
    args = parse_args()
    cdir = CycleDir(osp.abspath(args.cycle_dir))
    with cli_errors('acquire'):
        if not osp.isfile(args.config):
            raise SplitError(f'config {args.config!r} does not exist')
        if args.cycle is None and cdir.index is None:
            raise SplitError(f'--cycle-dir {cdir.path!r} is not named '
                             'cycle_<k>: pass --cycle K')
        cycle = args.cycle if args.cycle is not None else cdir.index
        out = args.out_dir or cdir.work_dir.cycle(cycle + 1).path
        check_checkpoint_safe(args.checkpoint)
        register_all_modules(init_default_scope=True)
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          cdir.work_dir.root)
        init_distributed(cfg)
        loop = ActiveLearningLoop(cfg)
        split = loop.acquire(cycle, args.checkpoint, cdir.path,
                             osp.abspath(out))
        if int(os.environ.get('RANK', 0)) == 0:
            print(f'[mmal acquire] {split.labeled_ids.size} labeled images '
                  f'in {out}')
    finish_distributed()


if __name__ == '__main__':
    main()
