# The BiB protocol (voc07, see ./mist_vgg16_bib_voc07.py) with the 'core-set-
# ent' strategy, from the same base model and seed:
#   tools/al_train.sh configs/bib/mist_vgg16_core-set-ent_voc07.py GPUS
_base_ = './mist_vgg16_bib_voc07.py'
al = dict(strategy=dict(_delete_=True, type='core-set-ent'))
