# Random baseline of the ENMS paper's COCO protocol: Faster R-CNN R50-FPN,
# 20% of train2017 labeled at random, +5% of the pool per cycle up to 40%
# (5 trained cycles), each cycle trained from scratch for 12 epochs.
#   tools/al_train.sh configs/random/faster-rcnn_r50_fpn_u-random_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='u-random'))
