# Runtime + iteration-based schedule of the MIST configs (wetectron's VOC07
# schedule): 30k steps of 8 images whatever the number of processes
# (gradient accumulation; mmal.utils.config.apply_effective_batch scales
# the iteration counts to match), linear warm-up over 200 steps, x0.1 at
# 20k and 26.7k. The optimizer is the config's (Concrete DropBlock needs
# its own).
_base_ = '../default_runtime.py'
effective_batch_size = 8
max_iters = 30000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=200),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[20000, 26700],
        gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=5000), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
