# MC-dropout (10 passes with dropout after the two shared fcs of the box
# head, mean predictive entropy), tiny Faster R-CNN, toy loop (CPU):
#   tools/al_train.sh \
#       configs/mc-dropout/faster-rcnn_r18_fpn_mc-dropout_toy.py 1
_base_ = ['../toy/faster-rcnn_r18_fpn_toy.py', '../_base_/al/toy_loop.py']
al = dict(
    strategy=dict(
        type='mc-dropout',
        passes=10,
        p=0.2,
        after=[
            'roi_head.bbox_head.shared_fcs.0',
            'roi_head.bbox_head.shared_fcs.1'
        ],
        score='entropy'))
