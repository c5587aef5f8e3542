# The ENMS paper's COCO protocol (Wu et al., CVPR 2022): 20% of train2017
# labeled at random, +5% of the pool per cycle up to 40% (5 trained cycles:
# 20, 25, 30, 35, 40%), every cycle trained from scratch with the config's
# own schedule (12 epochs), ground-truth labels revealed by the oracle.
# Strategy configs inherit this and set al.strategy.
al = dict(
    num_cycles=5,
    seed=0,
    initial=dict(size=0.2),
    budget=0.05,
    train_mode='scratch',
    schedule=dict(type='epochs'),
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=8, num_workers=4))
