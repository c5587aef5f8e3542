# Tiny FCOS on the toy shapes data (CPU, minutes):
#   python tools/train.py configs/toy/fcos_r18_fpn_toy.py
_base_ = [
    '../_base_/models/fcos_r18_fpn_toy.py', '../_base_/datasets/toy_shapes.py',
    '../_base_/schedules/toy_schedule.py', '../_base_/default_runtime.py'
]
