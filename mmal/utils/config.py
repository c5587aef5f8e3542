import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Load a config as the command-line tools do.

    Applies ``cfg_options`` overrides and sets the launcher and the work dir:
    ``work_dir`` if given, else the config's own, else
    ``./work_dirs/<config name>``.

    Args:
        path (str): Config file.
        launcher (str): Job launcher. Defaults to ``'none'``.
        cfg_options (dict, optional): Overrides, as from ``--cfg-options``.
        work_dir (str, optional): Work dir overriding the config's.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """Add the options every mmal tool shares: ``--cfg-options``,
    ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. al.budget=100')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, exporting ``LOCAL_RANK`` for launchers that pass it as an
    argument."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args
