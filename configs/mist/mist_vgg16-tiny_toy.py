# MIST on the toy shapes, from image-level labels only, on CPU in minutes:
# a VGG16-shaped backbone cut to one conv per stage at a quarter width
# (pool4 removed, conv5 dilated, stride 8), from scratch; toy proposals
# (pixel grouping, mmal.datasets.make_toy_proposals); 128 px images.
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy.py
_base_ = [
    '../_base_/models/mist_vgg16.py', '../_base_/datasets/toy_shapes.py',
    '../_base_/schedules/mist_iter.py'
]
num_classes = 6
# Harder than the default toy data: groups of touching same-class shapes
# (a weak detector tends to box the group, or one part), clutter, overlap
# and small shapes, the situations box-in-box (BiB) acquisition targets.
toy_data = dict(
    num_train=400,
    num_val=100,
    num_classes=6,
    group_prob=0.35,
    clutter=0.3,
    max_occlusion=0.2,
    small_fraction=0.15,
    seed=0)
# Generated next to the toy data by tools/train.py (prepare_toy_data).
toy_proposals = dict(max_proposals=200, seed=0)
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
    train_cfg=dict(
        rcnn=dict(
            difs=dict(num=128, pos_fraction=0.25, pos_iou=0.5, neg_iou=0.3))))

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'image_labels', 'fully_annotated')
load = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadProposals', num_max_proposals=None),
    dict(type='CleanProposals', min_size=2),
    dict(type='LoadAnnotations', with_bbox=True),
]
pack = dict(type='PackDetInputs', meta_keys=meta_keys)
scales = [(160, 96), (160, 128), (160, 160)]
train_pipeline = load + [
    dict(
        type='ProposalBroadcaster',
        transforms=[
            dict(type='RandomChoiceResize', scales=scales, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5)
        ]), pack
]
test_pipeline = load + [
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='Resize', scale=(128, 128), keep_ratio=True)]),
    pack
]
tta_pipeline = load + [
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(
                type='ProposalBroadcaster',
                transforms=[dict(type='Resize', scale=s, keep_ratio=True)])
            for s in scales
        ],
                    [
                        dict(
                            type='ProposalBroadcaster',
                            transforms=[dict(type='RandomFlip', prob=p)])
                        for p in (0., 1.)
                    ], [pack]])
]
train_dataloader = dict(
    batch_size=8,
    sampler=dict(
        _delete_=True, type='MixedSupervisionSampler', strong_ratio=0.5),
    batch_sampler=None,
    dataset=dict(
        type='WeakCocoDataset',
        proposal_file='proposals/proposals_train.npz',
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='WeakCocoDataset',
        proposal_file='proposals/proposals_val.npz',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

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
