# CALD (consistency with augmented views, then class-distribution
# selection), tiny Faster R-CNN, toy loop (CPU):
#   tools/al_train.sh configs/cald/faster-rcnn_r18_fpn_cald_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='cald'))
