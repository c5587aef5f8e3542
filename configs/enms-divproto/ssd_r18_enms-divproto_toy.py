# ENMS + DivProto (paper defaults), tiny SSD, toy loop (CPU):
#   tools/al_train.sh configs/enms-divproto/ssd_r18_enms-divproto_toy.py 1
_base_ = ['../toy/ssd_r18_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='ENMSDivProto'))
