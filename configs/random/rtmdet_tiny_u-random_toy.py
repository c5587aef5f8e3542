# u-random, RTMDet-tiny, toy loop (CPU):
#   tools/al_train.sh configs/random/rtmdet_tiny_u-random_toy.py 1
_base_ = ['../toy/rtmdet_tiny_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
