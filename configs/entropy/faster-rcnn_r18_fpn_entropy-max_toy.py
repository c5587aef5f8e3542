# entropy-max (most uncertain detection), tiny Faster R-CNN, toy loop (CPU):
#   tools/al_train.sh configs/entropy/faster-rcnn_r18_fpn_entropy-max_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='entropy-max'))
