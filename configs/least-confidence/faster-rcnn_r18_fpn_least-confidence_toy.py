# least-confidence (1 - the highest detection score), tiny Faster R-CNN, toy
# loop (CPU):
#   tools/al_train.sh \
#       configs/least-confidence/faster-rcnn_r18_fpn_least-confidence_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='least-confidence'))
