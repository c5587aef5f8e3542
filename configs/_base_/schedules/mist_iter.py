# Runtime + iteration-based schedule of the MIST configs: steps of 8
# images whatever the number of processes (gradient accumulation;
# mmal.utils.apply_effective_batch scales the iteration counts to match).
_base_ = '../default_runtime.py'
effective_batch_size = 8
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=30000, val_interval=30000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000),
    logger=dict(type='LoggerHook', interval=50))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
