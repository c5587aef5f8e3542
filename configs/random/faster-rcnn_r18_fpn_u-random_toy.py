# u-random, tiny Faster R-CNN, toy loop (CPU); the demo's baseline:
#   tools/al_train.sh configs/random/faster-rcnn_r18_fpn_u-random_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
