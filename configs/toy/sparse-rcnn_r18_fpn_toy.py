# Tiny Sparse R-CNN on the toy shapes data (CPU, minutes), the query-based
# toy detector:
#   python tools/train.py configs/toy/sparse-rcnn_r18_fpn_toy.py
_base_ = [
    '../_base_/models/sparse-rcnn_r18_fpn_toy.py',
    '../_base_/datasets/toy_shapes.py', '../_base_/schedules/toy_schedule.py',
    '../_base_/default_runtime.py'
]
# set-prediction heads train slower than dense ones: twice the toy epochs,
# and the gradient clipping of mmdet's Sparse R-CNN config
max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(clip_grad=dict(max_norm=1))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='FractionalMultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs * 2 / 3, max_epochs * 8 / 9],
        gamma=0.1,
        convert_to_iter_based=True)
]
