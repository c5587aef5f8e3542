# u-random, tiny FCOS, toy loop (CPU):
#   tools/al_train.sh configs/random/fcos_r18_fpn_u-random_toy.py 1
_base_ = ['../toy/fcos_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
