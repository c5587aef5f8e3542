# The README's main command (bash tools/run_demo.sh): ENMS + DivProto against
# u-random on the toy data, both from the same shared cycle-0 model (seed 0:
# 50 random images, +50 per cycle, 3 cycles, tiny Faster R-CNN on CPU).
base = '../random/faster-rcnn_r18_fpn_u-random_toy.py'  # al.strategy replaced
strategies = [dict(type='enms-divproto'), dict(type='u-random')]
seeds = [0]
reference = 'u-random'
# the toy benchmark's folder: these two runs are also its first two
work_dir = 'work_dirs/benchmarks/toy'
