# MC-dropout with Faster R-CNN R50-FPN on COCO, in the ENMS paper's protocol
# (20% -> 40%, +5% per cycle; the benchmark that runs MC-dropout, BLAD, uses
# its own, see docs/strategies/mc_dropout.md). 10 passes, dropout after the
# box head's two shared fcs (mmdet's head has none), mutual information.
#   tools/al_train.sh \
#       configs/mc-dropout/faster-rcnn_r50_fpn_mc-dropout_coco.py 8
_base_ = [
    '../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    '../_base_/al/enms_coco.py'
]
al = dict(
    strategy=dict(
        type='mc-dropout',
        passes=10,
        p=0.2,
        after=[
            'roi_head.bbox_head.shared_fcs.0',
            'roi_head.bbox_head.shared_fcs.1'
        ],
        score='mutual_information'))
