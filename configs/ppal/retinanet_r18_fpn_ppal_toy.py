# PPAL (Yang et al., CVPR 2024), tiny RetinaNet, toy loop (CPU):
#   tools/al_train.sh configs/ppal/retinanet_r18_fpn_ppal_toy.py 1
# ClassQualityHook keeps the class-wise difficulty while each cycle trains;
# the strategy reads it back from the cycle's checkpoint. Released defaults
# except two that the toy data cannot take: expand_ratio 2 (4 x 50 = 200
# candidates would be the whole 150-image unlabeled pool, leaving DCUS
# nothing to choose) and size_thr 8 px (toy objects are 16-40 px; the
# released 16 px drops the smallest).
_base_ = ['../toy/retinanet_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
custom_hooks = [
    dict(type='mmal.ClassQualityHook', base_momentum=0.99, quality_xi=0.6)
]
al = dict(strategy=dict(type='ppal', expand_ratio=2, size_thr=8.0))
