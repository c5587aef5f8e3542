# The toy shapes dataset (mmal.testing.make_toy_benchmark): COCO format,
# 128 px images, 6 classes. tools/train.py and the tests generate it.
dataset_type = 'CocoDataset'
data_root = 'data/toy/'
classes = ('red_square', 'green_circle', 'blue_triangle', 'yellow_cross',
           'magenta_diamond', 'cyan_ring')
metainfo = dict(
    classes=classes,
    palette=[(220, 40, 40), (40, 180, 60), (50, 80, 230), (230, 210, 40),
             (200, 50, 200), (40, 200, 210)])
# Knobs of the generated data (see mmal.testing.ToySpec); the tools call
# make_toy_benchmark(data_root, **toy_data) before building the runner.
toy_data = dict(num_train=200, num_val=50, num_classes=6, seed=0)
backend_args = None
image_size = 128

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    classwise=True,  # per-class AP in the loop's results
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
