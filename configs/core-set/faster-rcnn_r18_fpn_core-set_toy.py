# core-set (k-center on image features), tiny Faster R-CNN, toy loop (CPU):
#   tools/al_train.sh configs/core-set/faster-rcnn_r18_fpn_core-set_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='core-set'))
