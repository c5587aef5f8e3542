# A tiny SSD for CPU runs on the toy data: half-width ResNet-18 from scratch
# (strides 8, 16, 32) plus two extra SSD levels, SSD anchors for 128 px
# inputs.
_base_ = 'mmdet::_base_/models/ssd300.py'
input_size = 128
model = dict(
    data_preprocessor=dict(std=[58.395, 57.12, 57.375]),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        in_channels=(64, 128, 256),
        out_channels=(64, 128, 256, 128, 64),
        level_strides=(2, 2),
        level_paddings=(1, 1),
        l2_norm_scale=None),
    bbox_head=dict(
        # mmdet 3.3's SSDHead cannot predict. The scope prefix is needed:
        # dicts inherited from mmdet:: bases are built in mmdet's scope.
        type='mmal.SSDHeadCompat',
        in_channels=(64, 128, 256, 128, 64),
        num_classes=6,
        anchor_generator=dict(
            input_size=input_size,
            min_sizes=[8, 16, 32, 56, 88],
            max_sizes=[16, 32, 56, 88, 128],
            strides=[8, 16, 32, 64, 128],
            ratios=[[2], [2], [2], [2], [2]])),
    test_cfg=dict(nms_pre=300, max_per_img=50))
