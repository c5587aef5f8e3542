# BiB (Vo et al., ECCV 2022) in the BiB protocol on COCO 2014 (Vo et al., ECCV
# 2022): cycle 0 is the MIST base model (MCG proposals, no Concrete
# DropBlock); each of the 5 acquisitions fully annotates B = 160 more images;
# each cycle fine-tunes from the base model for 1,200 x cycle iterations (7.5
# per labeled image) of effective batch 8, lr 4e-4, 50 warm-up iterations;
# COCO metrics on val2014 with test-time augmentation. Train the base model
# first:
#   python tools/train.py configs/mist/mist_vgg16_coco14.py
# Every other strategy of the protocol inherits this file and changes only
# al.strategy (configs/bib/mist_vgg16_<strategy>_coco14.py).
#   tools/al_train.sh configs/bib/mist_vgg16_bib_coco14.py GPUS
_base_ = '../mist/mist_vgg16_coco14.py'
al = dict(
    num_cycles=6,
    seed=0,
    initial=0,
    budget=160,
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
    finetune_from='work_dirs/mist_vgg16_coco14/iter_200000.pth',
    schedule=dict(
        type='iters_per_image',
        iters_per_image=7.5,
        warmup_iters=50,
        milestones=()),
    test_tta=True,
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=1, num_workers=4))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
