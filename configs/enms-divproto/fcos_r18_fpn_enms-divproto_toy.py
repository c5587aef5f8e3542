# ENMS + DivProto (paper defaults), tiny FCOS, toy loop (CPU):
#   tools/al_train.sh configs/enms-divproto/fcos_r18_fpn_enms-divproto_toy.py 1
_base_ = ['../toy/fcos_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='ENMSDivProto'))
