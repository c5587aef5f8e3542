# MIST on the toy shapes, from image-level labels only, on CPU in minutes:
# a VGG16-shaped backbone cut to one conv per stage at a quarter width
# (pool4 removed, conv5 dilated, stride 8), from scratch; the harder toy
# data with toy proposals (configs/_base_/datasets/weak_toy_shapes.py);
# 128 px images; AdamW, 400 steps of 8 images.
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy.py
_base_ = [
    '../_base_/models/mist_vgg16.py', '../_base_/datasets/weak_toy_shapes.py',
    '../_base_/schedules/mist_iter.py'
]
num_classes = 6
model = dict(
    backbone=dict(
        stages=((1, 64), (1, 128), (1, 256), (1, 256), (1, 256)),
        width_mult=0.25,
        frozen_stages=-1),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=1), out_channels=64),
        bbox_head=dict(
            num_classes=num_classes,
            in_channels=64,
            fc_out_channels=256,
            dropout=0.2)),
    train_cfg=dict(rcnn=dict(difs=dict(num=128))))

max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[int(max_iters * 0.8)],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
