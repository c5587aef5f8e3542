# Eight strategies x three seeds on the toy data, tiny Faster R-CNN, the toy
# loop (50 random images, +50 per cycle, 3 cycles from scratch, CPU); per
# seed one shared cycle 0 (split, model, evaluation) for all strategies:
#   python tools/al_benchmark.py configs/benchmarks/toy_8-strategies_3-seeds.py
# Report: work_dirs/benchmarks/toy/reports/toy_8-strategies_3-seeds/
base = '../random/faster-rcnn_r18_fpn_u-random_toy.py'  # al.strategy replaced
# per seed, the runs are taken in this order
strategies = [
    dict(type='u-random'),
    dict(type='enms-divproto'),
    dict(type='entropy'),
    dict(type='enms'),
    dict(type='divproto'),
    dict(type='core-set'),
    dict(type='least-confidence'),
    dict(type='b-random'),
]
seeds = [0, 1, 2]
reference = 'u-random'
work_dir = 'work_dirs/benchmarks/toy'  # shared with the demo's benchmark
