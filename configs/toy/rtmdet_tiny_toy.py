# RTMDet-tiny on the toy shapes data (CPU, minutes), from scratch:
#   python tools/train.py configs/toy/rtmdet_tiny_toy.py
_base_ = [
    '../_base_/models/rtmdet_tiny_toy.py', '../_base_/datasets/toy_shapes.py',
    '../_base_/schedules/toy_schedule.py', '../_base_/default_runtime.py'
]
