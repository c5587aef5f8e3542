# Faster R-CNN R50-FPN on COCO train2017 (data/coco/) with the ENMS paper's
# schedule: 12 epochs, batch 16 (8 GPUs x 2 images, mmdet's coco_detection
# default), lr 0.02, x0.1 at 2/3 and 8/9.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/schedules/enms_1x.py', '../_base_/default_runtime.py'
]
# per-class AP in the active-learning loop's results
test_evaluator = dict(classwise=True)
