# Random baseline with SSD300-VGG16 on VOC07+12, LL4AL protocol (1k random
# images, +1k per cycle, 10 cycles up to 10k).
#   tools/al_train.sh configs/random/ssd300_vgg16_u-random_voc0712.py 8
_base_ = ['../ssd/ssd300_vgg16_ll4al_voc0712.py', '../_base_/al/ll4al_voc.py']
al = dict(strategy=dict(type='u-random'))
