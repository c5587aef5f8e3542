# BiB (Vo et al., ECCV 2022) in the BiB protocol on PASCAL VOC 2007
# (configs/_base_/al/bib.py): cycle 0 is the MIST base model, then 5
# acquisitions of B = 50 images; each cycle fine-tunes from the base model
# for 300 x cycle iterations (6 per labeled image) of effective batch 8, lr
# 4e-4 (Concrete DropBlock 4e-6), 50 warm-up iterations; AP50 on VOC07 test
# with test-time augmentation. Every other strategy of the protocol inherits
# this file and changes only al.strategy
# (configs/bib/mist_vgg16_<strategy>_voc07.py). Train the base model first:
#   python tools/train.py configs/mist/mist_vgg16_cdb_voc07.py
#   tools/al_train.sh configs/bib/mist_vgg16_bib_voc07.py GPUS
_base_ = ['../mist/mist_vgg16_cdb_voc07.py', '../_base_/al/bib.py']
al = dict(finetune_from='work_dirs/mist_vgg16_cdb_voc07/iter_30000.pth')
optim_wrapper = dict(
    detector=dict(optimizer=dict(lr=4e-4)), cdb=dict(optimizer=dict(lr=4e-6)))
