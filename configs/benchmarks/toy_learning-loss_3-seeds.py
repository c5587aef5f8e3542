# Learning Loss against u-random on the toy loop, both with the detector of
# configs/learning-loss/retinanet_r18_fpn_learning-loss_toy.py (the tiny
# RetinaNet with its loss-prediction module), from one shared cycle 0 per
# seed (3 seeds, 50 random images, +50 per cycle, 3 cycles, CPU):
#   python tools/al_benchmark.py \
#       configs/benchmarks/toy_learning-loss_3-seeds.py
# Report: work_dirs/benchmarks/toy_learning-loss/reports/
base = '../learning-loss/retinanet_r18_fpn_learning-loss_toy.py'
strategies = [dict(type='u-random'), dict(type='learning-loss')]
seeds = [0, 1, 2]
reference = 'u-random'
work_dir = 'work_dirs/benchmarks/toy_learning-loss'
