# The BiB protocol (coco14, see ./mist_vgg16_bib_coco14.py) with the 'u-plus-
# bib' strategy, from the same base model and seed:
#   tools/al_train.sh configs/bib/mist_vgg16_u-plus-bib_coco14.py GPUS
_base_ = './mist_vgg16_bib_coco14.py'
# score_thr: the official COCO setting of every BiB variant (0.5 in the
# first acquisition, 0.1 later; see ./mist_vgg16_bib_coco14.py)
al = dict(
    strategy=dict(_delete_=True, type='u-plus-bib', score_thr=(0.5, 0.1)))
