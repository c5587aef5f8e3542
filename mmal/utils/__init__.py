from .checkpoint import (UnsafeCheckpointError, add_safe_checkpoint_globals,
                         check_checkpoint_safe, find_unsafe_globals,
                         load_checkpoint_safely,
                         register_safe_checkpoint_loaders,
                         safe_checkpoint_globals)
from .config import (add_launch_args, apply_effective_batch, apply_tta,
                     load_config, parse_launch_args)
from .setup_env import register_all_modules

__all__ = [
    'UnsafeCheckpointError', 'add_safe_checkpoint_globals',
    'check_checkpoint_safe', 'find_unsafe_globals', 'load_checkpoint_safely',
    'apply_tta', 'register_safe_checkpoint_loaders', 'safe_checkpoint_globals',
    'add_launch_args', 'apply_effective_batch', 'load_config',
    'parse_launch_args', 'register_all_modules'
]
