# SSD needs square inputs of a fixed size; the toy images are 128 x 128.
_base_ = [
    '../_base_/models/ssd_r18_toy.py', '../_base_/datasets/toy_shapes.py',
    '../_base_/schedules/toy_schedule.py', '../_base_/default_runtime.py'
]
