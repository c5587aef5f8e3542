# PPAL's COCO protocol (Yang et al., CVPR 2024; released
# al_configs/coco/ppal_retinanet_coco.py): RetinaNet R50-FPN, 2,365 random
# train2017 images to start (2 %), +2,365 per round, 5 trained rounds
# (2 % -> 10 %), each trained from scratch (ImageNet backbone) for 26
# epochs, SGD lr 0.01, x0.1 after epoch 20, 500 linear warm-up iterations,
# batch 8 (8 GPUs x 1 image), gradient clipping 35.
#   tools/al_train.sh configs/ppal/retinanet_r50_fpn_ppal_coco.py 8
# The released code samples its initial set once into fixed json files;
# here al.seed draws it (or pass al.initial.split_file).
_base_ = [
    '../retinanet/retinanet_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
max_epochs = 26
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[20],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
# the released uncertainty pass's test config (its diversity pass keeps the
# top 100: the strategy's max_dets)
model = dict(
    test_cfg=dict(nms_pre=3000, nms=dict(iou_threshold=0.6), max_per_img=200))
custom_hooks = [
    dict(type='mmal.ClassQualityHook', base_momentum=0.99, quality_xi=0.6)
]
al = dict(
    initial=dict(size=2365),
    budget=2365,
    strategy=dict(
        type='ppal',
        expand_ratio=4,
        score_thr=0.05,
        class_weight_ub=0.2,
        class_weight_alpha=0.3,
        max_dets=100))
