# The ENMS paper's schedule (Detectron "1x"): 12 epochs, batch 16 (8 GPUs x 2
# images), SGD lr 0.02, x0.1 after 2/3 and 8/9 of training (epochs 8 and
# 10.67, placed at the nearest iteration by FractionalMultiStepLR, so the
# drops stay right whatever the size of the labeled set).
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='FractionalMultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs * 2 / 3, max_epochs * 8 / 9],
        gamma=0.1,
        convert_to_iter_based=True)
]
# 16 = 8 GPUs x 2 images; enable to rescale lr on another number of GPUs.
auto_scale_lr = dict(enable=False, base_batch_size=16)
