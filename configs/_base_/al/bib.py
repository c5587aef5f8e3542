# The loop of the BiB protocol (Vo et al., ECCV 2022), shared by
# configs/bib/: cycle 0 is a weakly-supervised base model (al.finetune_from,
# not retrained); each of the 5 acquisitions fully annotates al.budget more
# images, and each cycle fine-tunes FROM THE BASE MODEL on the whole pool
# (image-level labels) with all images selected so far fully annotated, for
# iters_per_image x labeled images iterations, constant lr after the
# warm-up; every cycle is evaluated with test-time augmentation. The BiB
# strategy is written out with every default (docs/strategies/bib.md).
al = dict(
    num_cycles=6,
    seed=0,
    initial=0,
    budget=50,
    strategy=dict(
        type='bib',
        mu=3.0,
        delta=0.8,
        score_thr=0.1,
        use_image_labels=True,
        pairing='first',
        box_arithmetic='wetectron',
        sampling='squared',
        local_trials='cumulative',
        pair_features='final_boxes',
        later_pairs='recorded',
        fill_up='random',
        projection_dim=None,
        projection_seed=0,
        block_size=8192,
        device='auto'),
    train_mode='finetune_from',
    finetune_from=None,
    schedule=dict(
        type='iters_per_image',
        iters_per_image=6,
        warmup_iters=50,
        milestones=()),
    test_tta=True,
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=1, num_workers=4))
