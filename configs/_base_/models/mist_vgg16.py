# MIST (Ren et al., CVPR 2020) on VGG16, as in wetectron: no RPN, the
# proposals come with the data; WSDDN MIL branch + 3 refinement branches.
num_classes = 20
model = dict(
    type='MIST',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=8),
    backbone=dict(type='WSODVGG16', frozen_stages=2),
    roi_head=dict(
        type='MISTRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            # mmcv's RoIPool has no CPU kernel: max-mode RoIAlign instead.
            roi_layer=dict(
                type='RoIAlign',
                output_size=7,
                sampling_ratio=2,
                pool_mode='max',
                aligned=False),
            out_channels=512,
            featmap_strides=[8]),
        bbox_head=dict(
            type='MISTBBoxHead',
            num_classes=num_classes,
            in_channels=512,
            fc_out_channels=4096,
            dropout=0.5,
            num_refine=3)),
    train_cfg=dict(
        rcnn=dict(
            top_ratio=0.15,
            pseudo_iou_thr=0.2,
            fg_iou=0.5,
            mil_loss_weight=1.0,
            refine_loss_weights=(3.0, 1.0, 1.0),
            difs=dict(num=512, pos_fraction=0.25, pos_iou=0.5, neg_iou=0.3))),
    test_cfg=dict(
        rcnn=dict(
            score_thr=1e-4,
            nms=dict(type='nms', iou_threshold=0.3),
            max_per_img=100)))
tta_model = dict(type='MISTTTAModel', tta_cfg=None)
