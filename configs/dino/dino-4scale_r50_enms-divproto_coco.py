# ENMS + DivProto with DINO-4scale R50, the ENMS paper's COCO protocol:
#   tools/al_train.sh configs/dino/dino-4scale_r50_enms-divproto_coco.py 8
# 20% of train2017 labeled at random, +5% of the pool per cycle up to 40%
# (5 trained cycles), every cycle trained from scratch with DINO's 12-epoch
# schedule (dino-4scale_r50_enms-12e_coco.py). Detections come from the
# last decoder layer's queries (QueryHeadProbe: cls_probs = the query's
# sigmoids with 1 - max as background, feats = its hidden state). The
# strategy is written out with the paper's hyper-parameters, as in
# configs/enms_divproto_coco.py. Not run at full scale here.
_base_ = ['./dino-4scale_r50_enms-12e_coco.py', '../_base_/al/enms_coco.py']
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
