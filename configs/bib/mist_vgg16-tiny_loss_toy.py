# The BiB protocol (toy, see ./mist_vgg16-tiny_bib_toy.py) with the 'loss'
# strategy, from the same base model and seed:
#   tools/al_train.sh configs/bib/mist_vgg16-tiny_loss_toy.py GPUS
_base_ = './mist_vgg16-tiny_bib_toy.py'
al = dict(strategy=dict(_delete_=True, type='loss'))
