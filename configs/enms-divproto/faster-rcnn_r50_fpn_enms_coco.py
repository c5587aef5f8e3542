# Table 1 row 2 of the ENMS paper: Entropy + ENMS (top-b by ENMS entropy),
# Faster R-CNN R50-FPN, COCO protocol (20% -> 40%, +5% per cycle).
#   tools/al_train.sh configs/enms-divproto/faster-rcnn_r50_fpn_enms_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='ENMS', t_enms=0.5))
