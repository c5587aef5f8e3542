# mmdet's runtime in mmal's scope: log every 20 iterations, keep only the
# last checkpoint, fixed training seed.
_base_ = 'mmdet::_base_/default_runtime.py'
default_scope = 'mmal'
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=-1, save_last=True))
randomness = dict(seed=0, deterministic=False)
