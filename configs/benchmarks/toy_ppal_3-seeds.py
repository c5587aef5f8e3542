# PPAL against u-random on the toy loop, both with the tiny RetinaNet and
# PPAL's ClassQualityHook of configs/ppal/retinanet_r18_fpn_ppal_toy.py,
# from one shared cycle 0 per seed (3 seeds, 50 random images, +50 per
# cycle, 3 cycles, CPU):
#   python tools/al_benchmark.py configs/benchmarks/toy_ppal_3-seeds.py
# Report: work_dirs/benchmarks/toy_ppal/reports/
base = '../ppal/retinanet_r18_fpn_ppal_toy.py'
strategies = [
    dict(type='u-random'),
    dict(type='ppal', expand_ratio=2, size_thr=8.0),
]
seeds = [0, 1, 2]
reference = 'u-random'
work_dir = 'work_dirs/benchmarks/toy_ppal'
