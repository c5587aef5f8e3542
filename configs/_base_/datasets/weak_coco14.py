# COCO 2014 for weakly-supervised detectors (MIST): train2014 with
# image-level labels and MCG proposals, COCO metrics on val2014; the
# pipelines (multi-scale 480-1200 + flips, TTA) of ./weak_voc07.py. The
# VOC class names of that file stay as a variable but no dataset uses them:
# the datasets below are replaced whole, and take COCO's 80 classes.
_base_ = './weak_voc07.py'
data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='WeakCocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img='train2014/'),
        proposal_file='proposals/MCG-coco14-train.npz',
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='WeakCocoDataset',
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
    metric='bbox',
    classwise=True)  # per-class AP in the loop's results
test_evaluator = val_evaluator
