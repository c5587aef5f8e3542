# SSD300-VGG16 on VOC07+12 trainval, tested on VOC07 test (11-point mAP@0.5).
# The ENMS paper trains SSD "with the settings of [38]" (Learning Loss for
# Active Learning): batch 32, SGD lr 1e-3, x0.1 after 240 of 300 epochs.
#
# Annotations are read in COCO format, so active-learning split files train
# unchanged. Convert VOC once with the converter the mmdet package ships
# (mmdet/.mim/tools/dataset_converters/pascal_voc.py DEVKIT -o OUT
# --out-format coco; docs/get_started.md has the full command), which writes
# voc0712_trainval.json and voc07_test.json.
_base_ = 'mmdet::pascal_voc/ssd300_voc0712.py'
default_scope = 'mmal'
# mmdet 3.3's SSDHead cannot predict (mmdet#11780); mmal's subclass can.
model = dict(bbox_head=dict(type='mmal.SSDHeadCompat'))
data_root = 'data/VOCdevkit/'
metainfo = dict(
    classes=('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
             'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
             'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'))
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/voc0712_trainval.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/voc07_test.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

max_epochs = 300
train_cfg = dict(max_epochs=max_epochs, val_interval=50)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[240],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=32)
