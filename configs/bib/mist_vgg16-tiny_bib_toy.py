# BiB (Vo et al., ECCV 2022) in the BiB protocol (configs/_base_/al/bib.py)
# scaled to the toy MIST (CPU, minutes): cycle 0 is the weak toy model,
# then 2 acquisitions of 20 images (5% of the 400-image pool), each cycle
# fine-tuned from the weak model on the whole pool with the selected images
# fully annotated, 6 iterations of 8 images per labeled image (BiB's 300 per
# 50), lr 3e-4 after 10 warm-up iterations; COCO metrics on the toy val
# split with test-time augmentation. Every other strategy inherits this file
# and changes only al.strategy (configs/bib/mist_vgg16-tiny_<strategy>_toy.py;
# bash tools/run_bib_toy.sh runs BiB and u-random). Train the base model
# first:
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy.py
#   tools/al_train.sh configs/bib/mist_vgg16-tiny_bib_toy.py 1
_base_ = ['../mist/mist_vgg16-tiny_toy.py', '../_base_/al/bib.py']
al = dict(
    num_cycles=3,
    budget=20,
    finetune_from='work_dirs/mist_vgg16-tiny_toy/iter_400.pth',
    schedule=dict(warmup_iters=10),
    acquisition=dict(batch_size=8, num_workers=0))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
