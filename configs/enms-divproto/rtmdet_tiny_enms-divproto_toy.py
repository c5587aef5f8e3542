# ENMS + DivProto (paper defaults), RTMDet-tiny, toy loop (CPU):
#   tools/al_train.sh \
#       configs/enms-divproto/rtmdet_tiny_enms-divproto_toy.py 1
_base_ = ['../toy/rtmdet_tiny_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='ENMSDivProto'))
