# ENMS + DivProto against u-random on the toy loop with the tiny FCOS
# (configs/toy/fcos_r18_fpn_toy.py),
# both from one shared cycle-0 model (seed 0: 50 random images, +50 per
# cycle, 3 cycles, CPU):
#   python tools/al_benchmark.py \
#       configs/benchmarks/toy_fcos_enms-divproto_vs_u-random.py
# Report: work_dirs/benchmarks/toy_fcos/reports/
base = '../random/fcos_r18_fpn_u-random_toy.py'  # al.strategy replaced
strategies = [dict(type='enms-divproto'), dict(type='u-random')]
seeds = [0]
reference = 'u-random'
work_dir = 'work_dirs/benchmarks/toy_fcos'
