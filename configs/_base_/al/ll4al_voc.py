# The Learning Loss for Active Learning (LL4AL) protocol on VOC07+12
# trainval, which the ENMS paper follows for SSD: 1,000 random images to
# start, +1,000 per cycle, 10 trained cycles (1k, 2k, ..., 10k labeled),
# every cycle trained from scratch with the config's own schedule. The whole
# unlabeled pool is scored; set al.pool_subsample to score a random part.
# Strategy configs inherit this and set al.strategy.
al = dict(
    num_cycles=10,
    seed=0,
    initial=dict(size=1000),
    budget=1000,
    train_mode='scratch',
    schedule=dict(type='epochs'),
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=8, num_workers=4))
