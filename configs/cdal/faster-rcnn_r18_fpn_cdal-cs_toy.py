# CDAL-CS (contextual diversity + greedy k-center), tiny Faster R-CNN, toy
# loop (CPU):
#   tools/al_train.sh configs/cdal/faster-rcnn_r18_fpn_cdal-cs_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='cdal-cs'))
