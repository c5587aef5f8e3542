# MIST on COCO 2014 train from image-level labels, MCG proposals, no
# Concrete DropBlock (as in BiB); effective batch 8, lr 0.01, 200k
# iterations, multi-scale training 480-1200 with flips; COCO metrics on
# val2014 (data: configs/_base_/datasets/weak_coco14.py).
#   python tools/train.py configs/mist/mist_vgg16_coco14.py
_base_ = [
    '../_base_/models/mist_vgg16.py', '../_base_/datasets/weak_coco14.py',
    '../_base_/schedules/mist_iter.py'
]
num_classes = 80
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes), cdb=None))
max_iters = 200000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
model_wrapper_cfg = None  # no DropBlock: mmengine's default DDP wrapper
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=200),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[140000],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=20000))
