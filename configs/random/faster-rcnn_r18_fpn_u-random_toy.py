_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(strategy=dict(type='u-random'))
