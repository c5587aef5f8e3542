# Learning Loss (Yoo and Kweon, CVPR 2019), tiny RetinaNet, toy loop (CPU):
#   tools/al_train.sh \
#     configs/learning-loss/retinanet_r18_fpn_learning-loss_toy.py 1
# The detector of configs/toy/retinanet_r18_fpn_toy.py wrapped with a
# loss-prediction module on its 5 FPN outputs (64 channels each); the
# module's gradient into the detector stops after 60 % of each cycle's
# training (the paper's epoch 120 of 200).
_base_ = ['../toy/retinanet_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
model = dict(
    _delete_=True,
    type='mmal.LearningLossDetector',
    detector={{_base_.model}},
    loss_module=dict(in_channels=[64] * 5, mid_channels=128),
    loss_weight=1.0,
    margin=1.0)
custom_hooks = [dict(type='mmal.LearningLossHook', stop_grad_at=0.6)]
al = dict(strategy=dict(type='learning-loss'))
