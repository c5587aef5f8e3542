# u-random, tiny Sparse R-CNN, toy loop (CPU):
#   tools/al_train.sh configs/random/sparse-rcnn_r18_fpn_u-random_toy.py 1
_base_ = ['../toy/sparse-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
