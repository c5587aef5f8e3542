# ENMS + DivProto (Wu et al., CVPR 2022) with RTMDet-s, the paper's COCO
# protocol (configs only, not run at full scale here):
#   tools/al_train.sh configs/enms-divproto/rtmdet_s_enms-divproto_coco.py 8
# 20% of train2017 labeled at random, +5% per cycle up to 40%, each cycle
# trained from scratch for 12 epochs at batch 16
# (configs/rtmdet/rtmdet_s_enms-1x_coco.py). RTMDet's cls_probs and feats
# come from mmal's DenseHeadProbe (docs/add_a_detector.md). The strategy is
# written out with every hyper-parameter at its default, as in
# configs/enms_divproto_coco.py.
_base_ = ['../rtmdet/rtmdet_s_enms-1x_coco.py', '../_base_/al/enms_coco.py']
al = dict(
    strategy=dict(
        type='ENMSDivProto',
        use_enms=True,
        use_divproto=True,
        t_enms=0.5,
        t_intra=0.7,
        t_inter=0.3,
        alpha=0.5,
        beta=0.75,
        intra=True,
        inter=True,
        min_score=0.0,
        max_dets=None,
        proto_from='all',
        fill_up='sorted'))
