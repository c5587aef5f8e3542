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


def apply_cpu_distributed(cfg: Config) -> Config:
    """Under a launcher on a machine without CUDA (gloo), wrap the model in
    DDP without device ids and without broadcasting buffers, which gloo's
    CPU DDP needs; elsewhere ``cfg`` is left as it is."""
    import torch
    from mmengine.dist import is_distributed
    if is_distributed() and not torch.cuda.is_available():
        wrapper = dict(
            cfg.get('model_wrapper_cfg')
            or dict(type='MMDistributedDataParallel'))
        wrapper.update(broadcast_buffers=False, device_ids=None)
        cfg.model_wrapper_cfg = wrapper
    return cfg


def apply_tta(cfg: Config, source: str = 'the config') -> Config:
    """Switch a config to test-time augmentation: its ``tta_model`` wraps
    the model and its ``tta_pipeline`` replaces the test pipeline.

    Args:
        cfg (Config): The config; changed in place.
        source (str): How to name the config in the error.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If the config has no ``tta_model`` or ``tta_pipeline``.
    """
    if not cfg.get('tta_model') or not cfg.get('tta_pipeline'):
        raise ValueError(f'{source}: test-time augmentation needs tta_model '
                         'and tta_pipeline in the config')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    return cfg


def _world_size_from_env(launcher: str) -> int:
    if launcher in (None, 'none'):
        return 1
    for key in ('WORLD_SIZE', 'SLURM_NTASKS', 'OMPI_COMM_WORLD_SIZE'):
        if os.environ.get(key):
            return int(os.environ[key])
    return 1


def apply_effective_batch(cfg: Config,
                          world_size: Optional[int] = None) -> Config:
    """Keep the batch per optimizer step at ``cfg.effective_batch_size``
    whatever the number of GPUs, by gradient accumulation. Training tools
    call it on the config they train with (``tools/train.py``, each cycle
    of the active-learning loop).

    With ``accumulative_counts = effective_batch_size / (batch_size x
    world_size)`` micro-batches per step, the iteration-based counts of the
    schedule (``train_cfg.max_iters`` and ``val_interval``, the
    iteration-based ``param_scheduler`` bounds and milestones, the
    checkpoint interval) are multiplied by the same factor, so that they
    keep counting optimizer steps as the config states them. Configs
    without ``effective_batch_size`` are returned unchanged.

    Args:
        cfg (Config): The config; changed in place.
        world_size (int, optional): Number of processes; when None, 1 for
            ``cfg.launcher == 'none'``, else read from the launcher's
            environment (``WORLD_SIZE``, ``SLURM_NTASKS``,
            ``OMPI_COMM_WORLD_SIZE``).

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: If the effective batch is not a multiple of the batch
            per step across processes.
    """
    effective = cfg.get('effective_batch_size')
    if not effective or cfg.get('effective_batch_applied'):
        return cfg
    world = world_size or _world_size_from_env(cfg.get('launcher'))
    per_step = cfg.train_dataloader.batch_size * world
    if effective % per_step:
        raise ValueError(
            f'effective_batch_size={effective} is not a multiple of '
            f'train_dataloader.batch_size x processes = {per_step}')
    acc = effective // per_step
    wrapper = cfg.optim_wrapper
    if 'constructor' in wrapper and 'optimizer' not in wrapper:
        for value in wrapper.values():
            if isinstance(value, dict):
                value['accumulative_counts'] = acc
    else:
        wrapper['accumulative_counts'] = acc
    if acc > 1:
        loop = cfg.get('train_cfg') or {}
        for key in ('max_iters', 'val_interval'):
            if isinstance(loop.get(key), int) and 'max_epochs' not in loop:
                loop[key] *= acc
        schedulers = cfg.get('param_scheduler') or []
        if isinstance(schedulers, dict):
            schedulers = [schedulers]
        for sched in schedulers:
            if sched.get('by_epoch', True):
                continue
            for key in ('begin', 'end'):
                if isinstance(sched.get(key), int):
                    sched[key] *= acc
            if 'milestones' in sched:
                sched['milestones'] = [m * acc for m in sched['milestones']]
        ckpt = (cfg.get('default_hooks') or {}).get('checkpoint')
        if ckpt and not ckpt.get('by_epoch', True) and ckpt.get('interval'):
            ckpt['interval'] *= acc
    cfg.effective_batch_applied = dict(
        accumulative_counts=acc, world_size=world)
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
