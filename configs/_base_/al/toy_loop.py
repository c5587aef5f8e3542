# A 3-cycle loop on the toy shapes data (200 pool images): 50 random images
# to start, +50 per cycle, each cycle trained from scratch. Strategy configs
# inherit this and set al.strategy.
al = dict(
    num_cycles=3,
    seed=0,
    initial=dict(size=50),
    budget=50,
    train_mode='scratch',
    schedule=dict(type='epochs'),
    oracle=dict(type='GroundTruthOracle'))
