# MIST + Concrete DropBlock on PASCAL VOC 2007 trainval from image-level
# labels, Selective Search proposals; wetectron's VOC schedule: batch 8
# (effective, any number of GPUs), lr 0.01, 30k iterations, multi-scale
# training 480-1200 with flips; AP50 on VOC07 test (--tta for wetectron's
# multi-scale + flip testing).
#   python tools/train.py configs/mist/mist_vgg16_cdb_voc07.py
# Data: configs/_base_/datasets/weak_voc07.py (proposals: docs/models/mist.md).
# ImageNet VGG16 weights: set model.backbone.init_cfg (docs/models/mist.md).
_base_ = [
    '../_base_/models/mist_vgg16.py', '../_base_/datasets/weak_voc07.py',
    '../_base_/schedules/mist_iter.py'
]
model = dict(
    roi_head=dict(cdb=dict(type='ConcreteDropBlock', in_channels=512)))

# Detector: SGD lr 0.01; Concrete DropBlock: its own optimizer, 100x lower
# (BiB fine-tunes with 4e-4 / 4e-6).
optim_wrapper = dict(
    constructor='MISTOptimWrapperConstructor',
    detector=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
    cdb=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=5e-4)))
# Several GPUs: both passes of the DropBlock step go through DDP.
model_wrapper_cfg = dict(
    type='MISTDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
