_base_ = 'mmdet::_base_/default_runtime.py'
default_scope = 'mmal'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=-1, save_last=True))
randomness = dict(seed=0, deterministic=False)
env_cfg = dict(dist_cfg=dict(backend='nccl'))
