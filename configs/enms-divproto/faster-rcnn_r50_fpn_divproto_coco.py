# Table 1 row 3 of the ENMS paper: Entropy + DivProto (no ENMS), Faster
# R-CNN R50-FPN, COCO protocol (20% -> 40%, +5% per cycle).
#   tools/al_train.sh \
#       configs/enms-divproto/faster-rcnn_r50_fpn_divproto_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(
    strategy=dict(
        type='DivProto', t_intra=0.7, t_inter=0.3, alpha=0.5, beta=0.75))
