# BiB (Vo et al., ECCV 2022) in the BiB protocol on COCO 2014
# (configs/_base_/al/bib.py): cycle 0 is the MIST base model (MCG
# proposals, no Concrete DropBlock), then 5 acquisitions of B = 160 images;
# each cycle fine-tunes from the base model for 1,200 x cycle iterations
# (7.5 per labeled image) of effective batch 8, lr 4e-4, 50 warm-up
# iterations; COCO metrics on val2014 with test-time augmentation. Every
# other strategy of the protocol inherits this file and changes only
# al.strategy (configs/bib/mist_vgg16_<strategy>_coco14.py). Train the base
# model first:
#   python tools/train.py configs/mist/mist_vgg16_coco14.py
#   tools/al_train.sh configs/bib/mist_vgg16_bib_coco14.py GPUS
_base_ = ['../mist/mist_vgg16_coco14.py', '../_base_/al/bib.py']
# The official COCO launch script (launch_active_coco14.sh) pairs only the
# detections scored above 0.5 in the first acquisition ("to speed up": the
# base model finds many pairs), above 0.1 in the later ones.
al = dict(
    budget=160,
    strategy=dict(score_thr=(0.5, 0.1)),
    finetune_from='work_dirs/mist_vgg16_coco14/iter_200000.pth',
    schedule=dict(iters_per_image=7.5))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
