# Entropy baseline (basic detection entropy, Eq. 2 of the ENMS paper) with
# RetinaNet R50-FPN, COCO protocol (20% -> 40%, +5% per cycle).
#   tools/al_train.sh configs/entropy/retinanet_r50_fpn_entropy_coco.py 8
_base_ = [
    '../retinanet/retinanet_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='Entropy'))
