# Entropy baseline (basic detection entropy, Eq. 2 of the ENMS paper) with
# SSD300-VGG16 on VOC07+12, LL4AL protocol (1k, +1k per cycle, to 10k).
#   tools/al_train.sh configs/entropy/ssd300_vgg16_entropy_voc0712.py 8
_base_ = ['../ssd/ssd300_vgg16_ll4al_voc0712.py', '../_base_/al/ll4al_voc.py']
al = dict(strategy=dict(type='Entropy'))
