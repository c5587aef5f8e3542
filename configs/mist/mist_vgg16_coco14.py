# MIST on COCO 2014 train from image-level labels, MCG proposals, no
# Concrete DropBlock (as in BiB); effective batch 8, lr 0.01, multi-scale
# training 480-1200 with flips; COCO metrics on val2014.
_base_ = './mist_vgg16_cdb_voc07.py'
num_classes = 80
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes), cdb=None))
dataset_type = 'WeakCocoDataset'
data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img='train2014/'),
        proposal_file='proposals/MCG-coco14-train.npz',
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(img='val2014/'),
        proposal_file='proposals/MCG-coco14-val.npz',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2014.json',
    metric='bbox')
test_evaluator = val_evaluator
max_iters = 200000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
model_wrapper_cfg = None  # no DropBlock: mmengine's default DDP wrapper
optim_wrapper = dict(
    _delete_=True,
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
