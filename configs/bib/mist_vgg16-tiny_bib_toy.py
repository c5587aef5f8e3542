# BiB (Vo et al., ECCV 2022) in the BiB protocol scaled to the toy MIST (CPU,
# minutes): cycle 0 is the weak toy model, then 2 acquisitions of 20 images
# (5% of the 400-image pool), each cycle fine-tuned from the weak model on the
# whole pool with the selected images fully annotated, 6 iterations of 8
# images per labeled image (BiB's 300 per 50), lr 3e-4 after 10 warm-up
# iterations; COCO metrics on the toy val split with test-time augmentation.
# Train the base model first:
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy.py
# Every other strategy of the protocol inherits this file and changes only
# al.strategy (configs/bib/mist_vgg16-tiny_<strategy>_toy.py).
#   tools/al_train.sh configs/bib/mist_vgg16-tiny_bib_toy.py GPUS
_base_ = '../mist/mist_vgg16-tiny_toy.py'
al = dict(
    num_cycles=3,
    seed=0,
    initial=0,
    budget=20,
    strategy=dict(
        type='bib',
        mu=3.0,
        delta=0.8,
        score_thr=0.1,
        use_image_labels=True,
        pairing='first',
        sampling='squared',
        local_trials=True,
        fill_up='random',
        projection_dim=None,
        projection_seed=0,
        block_size=8192,
        device='auto'),
    train_mode='finetune_from',
    finetune_from='work_dirs/mist_vgg16-tiny_toy/iter_400.pth',
    schedule=dict(
        type='iters_per_image',
        iters_per_image=6,
        warmup_iters=10,
        milestones=()),
    test_tta=True,
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=8, num_workers=0))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
