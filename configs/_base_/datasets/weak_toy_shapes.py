# The toy shapes data (./toy_shapes.py) for weakly-supervised detectors
# (MIST): harder than the default toy data, toy proposals (pixel grouping,
# mmal.testing.make_toy_proposals), WeakCocoDataset with the
# mixed-supervision sampler, multi-scale training and TTA at toy scale.
_base_ = './toy_shapes.py'
# A folder of its own: the default toy data (another spec) lives in
# data/toy/, and a spec change regenerates the folder.
data_root = 'data/toy_weak/'
# Groups of touching same-class shapes (a weak detector tends to box the
# group, or one part), clutter, overlap and small shapes, the situations
# box-in-box (BiB) acquisition targets.
toy_data = dict(
    num_train=400,
    num_val=100,
    group_prob=0.35,
    clutter=0.3,
    max_occlusion=0.2,
    small_fraction=0.15)
# Generated next to the toy data by tools/train.py (prepare_toy_data).
toy_proposals = dict(max_proposals=200, seed=0)

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
    sampler=dict(
        _delete_=True, type='MixedSupervisionSampler', strong_ratio=0.5),
    batch_sampler=None,
    dataset=dict(
        type='WeakCocoDataset',
        data_root=data_root,
        proposal_file='proposals/proposals_train.npz',
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='WeakCocoDataset',
        data_root=data_root,
        proposal_file='proposals/proposals_val.npz',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
