# A tiny RetinaNet for CPU runs on the toy data: half-width ResNet-18 from
# scratch, 64-channel FPN from stride 4 (objects are 6-40 px), two
# 64-channel convs per head branch.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'
model = dict(
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[32, 64, 128, 256],
        out_channels=64,
        start_level=0,
        add_extra_convs='on_output'),
    bbox_head=dict(
        num_classes=6,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        anchor_generator=dict(octave_base_scale=2, strides=[4, 8, 16, 32,
                                                            64])),
    test_cfg=dict(nms_pre=300, max_per_img=50))
