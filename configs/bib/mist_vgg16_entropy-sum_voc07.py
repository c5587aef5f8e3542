# The BiB protocol (voc07, see ./mist_vgg16_bib_voc07.py) with the 'entropy-
# sum' strategy, from the same base model and seed:
#   tools/al_train.sh configs/bib/mist_vgg16_entropy-sum_voc07.py GPUS
_base_ = './mist_vgg16_bib_voc07.py'
al = dict(strategy=dict(_delete_=True, type='entropy-sum'))
