# ENMS + DivProto (paper defaults), tiny Sparse R-CNN, toy loop (CPU):
#   tools/al_train.sh \
#       configs/enms-divproto/sparse-rcnn_r18_fpn_enms-divproto_toy.py 1
_base_ = ['../toy/sparse-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='ENMSDivProto'))
