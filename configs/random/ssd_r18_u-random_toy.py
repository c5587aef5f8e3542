# u-random, tiny SSD, toy loop (CPU):
#   tools/al_train.sh configs/random/ssd_r18_u-random_toy.py 1
_base_ = ['../toy/ssd_r18_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
