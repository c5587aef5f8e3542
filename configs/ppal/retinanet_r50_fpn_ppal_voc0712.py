# PPAL's VOC protocol (Yang et al., CVPR 2024; released
# al_configs/voc/ppal_retinanet_voc.py): RetinaNet R50-FPN on VOC07+12
# trainval (16,551 images), 827 random images to start (5 %), +414 per round,
# 7 trained rounds (5 % -> 20 %), each trained from scratch for 26 epochs,
# SGD lr 0.002, x0.1 after epoch 20, 500 warm-up iterations, batch 8
# (8 GPUs x 1 image), gradient clipping 35; tested on VOC07 test.
#   tools/al_train.sh configs/ppal/retinanet_r50_fpn_ppal_voc0712.py 8
# Data: the COCO-format VOC json files of configs/ssd/ (docs/get_started.md).
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
default_scope = 'mmal'
metainfo = dict(
    classes=('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
             'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
             'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'))
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root={{_base_.data_root}},
        metainfo=metainfo,
        ann_file='annotations/voc0712_trainval.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root={{_base_.data_root}},
        metainfo=metainfo,
        ann_file='annotations/voc07_test.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='VOCMetric', metric='mAP', eval_mode='area')
test_evaluator = val_evaluator
max_epochs = 26
train_cfg = dict(
    _delete_=True,
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
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
model = dict(
    test_cfg=dict(nms_pre=3000, nms=dict(iou_threshold=0.6), max_per_img=200))
custom_hooks = [
    dict(type='mmal.ClassQualityHook', base_momentum=0.99, quality_xi=0.6)
]
al = dict(
    num_cycles=7,
    seed=0,
    initial=dict(size=827),
    budget=414,
    train_mode='scratch',
    schedule=dict(type='epochs'),
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=8, num_workers=4),
    strategy=dict(
        type='ppal',
        expand_ratio=4,
        score_thr=0.05,
        class_weight_ub=0.2,
        class_weight_alpha=0.3,
        max_dets=100))
