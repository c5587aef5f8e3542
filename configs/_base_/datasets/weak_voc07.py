# PASCAL VOC 2007 for weakly-supervised detectors (MIST): trainval with
# image-level labels and Selective Search proposals, multi-scale training
# 480-1200 with flips (wetectron's), test at 688, multi-scale + flip TTA;
# AP50 on VOC07 test (11 points).
# VOC in COCO format (mmdet's pascal_voc.py converter, docs/get_started.md)
# like every mmal VOC config, so active-learning splits apply unchanged;
# difficult objects become iscrowd boxes, which give no image label.
# WeakVOCDataset reads the XML files instead (same labels).
# Proposals: wetectron's Selective Search pickles converted with
# tools/misc/convert_proposals.py (see docs/models/mist.md).
dataset_type = 'WeakCocoDataset'
data_root = 'data/VOCdevkit/'
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
           'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
           'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
backend_args = None
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'image_labels', 'fully_annotated')
train_scales = [(2000, s) for s in (480, 576, 688, 864, 1000, 1200)]
load = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadProposals', num_max_proposals=None),
    dict(type='CleanProposals', min_size=2),
    dict(type='LoadAnnotations', with_bbox=True),
]
pack = dict(type='PackDetInputs', meta_keys=meta_keys)
train_pipeline = load + [
    dict(
        type='ProposalBroadcaster',
        transforms=[
            dict(
                type='RandomChoiceResize',
                scales=train_scales,
                keep_ratio=True),
            dict(type='RandomFlip', prob=0.5)
        ]), pack
]
test_pipeline = load + [
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='Resize', scale=(2000, 688), keep_ratio=True)]),
    pack
]
tta_pipeline = load + [
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(
                type='ProposalBroadcaster',
                transforms=[dict(type='Resize', scale=s, keep_ratio=True)])
            for s in train_scales
        ],
                    [
                        dict(
                            type='ProposalBroadcaster',
                            transforms=[dict(type='RandomFlip', prob=p)])
                        for p in (0., 1.)
                    ], [pack]])
]
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MixedSupervisionSampler', strong_ratio=0.5),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/voc07_trainval.json',
        data_prefix=dict(img=''),
        proposal_file='proposals/SS-voc07-trainval.npz',
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/voc07_test.json',
        data_prefix=dict(img=''),
        proposal_file='proposals/SS-voc07-test.npz',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
