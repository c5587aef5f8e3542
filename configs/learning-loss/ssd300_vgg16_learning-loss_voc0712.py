# Learning Loss with SSD300-VGG16 on VOC07+12, the LL4AL protocol the paper
# introduced and the ENMS paper compares in (1k random images, +1k per
# cycle, 10 cycles up to 10k):
#   tools/al_train.sh \
#     configs/learning-loss/ssd300_vgg16_learning-loss_voc0712.py 8
# The loss-prediction module reads SSD's 6 multi-scale maps (SSDNeck:
# 512, 1024, 512, 256, 256, 256 channels). Paper: lambda = 1, margin 1,
# the module's gradient into the detector stopped at epoch 120 of 200
# (stop_grad_at = 0.6 of whatever schedule the SSD config trains).
_base_ = ['../ssd/ssd300_vgg16_ll4al_voc0712.py', '../_base_/al/ll4al_voc.py']
model = dict(
    _delete_=True,
    type='mmal.LearningLossDetector',
    detector={{_base_.model}},
    loss_module=dict(
        in_channels=[512, 1024, 512, 256, 256, 256], mid_channels=128),
    loss_weight=1.0,
    margin=1.0)
custom_hooks = [dict(type='mmal.LearningLossHook', stop_grad_at=0.6)]
al = dict(strategy=dict(type='learning-loss'))
