# The peers' acquisition-only methods (CDAL-CS, MC-dropout, CALD) against
# u-random on the toy loop of the eight-strategy benchmark (tiny Faster
# R-CNN, 50 random images, +50 per cycle, 3 cycles from scratch, CPU), each
# with its toy config's hyper-parameters; the same folder as that benchmark,
# so its shared cycle-0 runs and its u-random runs are reused, not redone:
#   python tools/al_benchmark.py configs/benchmarks/toy_peers_3-seeds.py
# Report: work_dirs/benchmarks/toy/reports/toy_peers_3-seeds/
# Learning Loss and PPAL change the detector (a loss-prediction module, a
# training hook): toy_learning-loss_3-seeds.py and toy_ppal_3-seeds.py.
base = '../random/faster-rcnn_r18_fpn_u-random_toy.py'  # al.strategy replaced
strategies = [
    dict(type='u-random'),
    dict(type='cdal-cs'),
    dict(
        type='mc-dropout',
        passes=10,
        p=0.2,
        after=[
            'roi_head.bbox_head.shared_fcs.0',
            'roi_head.bbox_head.shared_fcs.1'
        ],
        score='entropy'),
    dict(type='cald'),
]
seeds = [0, 1, 2]
reference = 'u-random'
work_dir = 'work_dirs/benchmarks/toy'  # shared with the eight strategies
