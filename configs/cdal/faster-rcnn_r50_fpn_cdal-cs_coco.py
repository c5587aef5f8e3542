# CDAL-CS with Faster R-CNN R50-FPN on COCO, the ENMS paper's protocol (20%
# -> 40%, +5% per cycle), where CDAL is a compared baseline.
#   tools/al_train.sh configs/cdal/faster-rcnn_r50_fpn_cdal-cs_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(strategy=dict(type='cdal-cs'))
