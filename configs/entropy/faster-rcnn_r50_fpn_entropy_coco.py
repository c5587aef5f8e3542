# Table 1 row 1 of the ENMS paper: top-b images by basic detection entropy
# (Eq. 2), Faster R-CNN R50-FPN, COCO protocol (20% -> 40%, +5% per cycle).
#   tools/al_train.sh configs/entropy/faster-rcnn_r50_fpn_entropy_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='Entropy'))
