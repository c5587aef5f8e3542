# ENMS + DivProto with RetinaNet R50-FPN, the ENMS paper's COCO protocol
# (20% -> 40% of train2017, +5% per cycle, 12 epochs per cycle).
#   tools/al_train.sh \
#       configs/enms-divproto/retinanet_r50_fpn_enms-divproto_coco.py 8
_base_ = [
    '../retinanet/retinanet_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='ENMSDivProto'))
