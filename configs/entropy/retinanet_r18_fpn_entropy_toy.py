# Entropy (basic detection entropy), tiny RetinaNet, toy loop (CPU):
#   tools/al_train.sh configs/entropy/retinanet_r18_fpn_entropy_toy.py 1
_base_ = ['../toy/retinanet_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='Entropy'))
