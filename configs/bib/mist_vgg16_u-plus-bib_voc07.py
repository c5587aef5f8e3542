# The BiB protocol (voc07, see ./mist_vgg16_bib_voc07.py) with the 'u-plus-
# bib' strategy, from the same base model and seed:
#   tools/al_train.sh configs/bib/mist_vgg16_u-plus-bib_voc07.py GPUS
_base_ = './mist_vgg16_bib_voc07.py'
al = dict(strategy=dict(_delete_=True, type='u-plus-bib'))
