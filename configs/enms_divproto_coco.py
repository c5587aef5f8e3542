# ENMS + DivProto (Wu et al., CVPR 2022), the paper's COCO protocol:
#   tools/al_train.sh configs/enms_divproto_coco.py 8
# Faster R-CNN R50-FPN on COCO train2017: 20% labeled at random, +5% of the
# pool per cycle up to 40% (5 trained cycles: 20, 25, 30, 35, 40%), each
# cycle trained from scratch for 12 epochs, batch 16 (8 GPUs x 2 images),
# SGD lr 0.02 x0.1 at 2/3 and 8/9 of training
# (configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py). Table 1 row 4;
# rows 1-3 are configs/entropy/faster-rcnn_r50_fpn_entropy_coco.py and
# configs/enms-divproto/faster-rcnn_r50_fpn_{enms,divproto}_coco.py. The
# loop is configs/_base_/al/enms_coco.py; the strategy is written out with
# every hyper-parameter at its default (configs/enms-divproto/README.md).
_base_ = [
    './faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    './_base_/al/enms_coco.py'
]
al = dict(
    strategy=dict(
        type='ENMSDivProto',
        use_enms=True,  # score images by ENMS entropy (Algorithm 1)
        use_divproto=True,  # select with DivProto (Algorithm 2)
        t_enms=0.5,
        t_intra=0.7,
        t_inter=0.3,
        alpha=0.5,  # share of classes that are minority classes
        beta=0.75,  # share of the budget reserved for minority classes
        intra=True,
        inter=True,
        min_score=0.0,
        max_dets=None,
        proto_from='all',
        fill_up='sorted'))
