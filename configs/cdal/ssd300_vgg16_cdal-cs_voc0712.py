# CDAL-CS with SSD300-VGG16 on VOC07+12, the detection protocol of the CDAL
# paper (Agarwal et al., ECCV 2020, Sec. 4, after Learning Loss): 1k random
# images, +1k per cycle, to 10k.
#   tools/al_train.sh configs/cdal/ssd300_vgg16_cdal-cs_voc0712.py 8
_base_ = ['../ssd/ssd300_vgg16_ll4al_voc0712.py', '../_base_/al/ll4al_voc.py']
al = dict(strategy=dict(type='cdal-cs'))
