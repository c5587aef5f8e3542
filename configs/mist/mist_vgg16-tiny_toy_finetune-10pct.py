# Mixed supervision on the toy data: fine-tune the weak toy MIST with 10% of
# the training images fully annotated (drawn with strong_seed), half of each
# batch from them (MixedSupervisionSampler), DifS on their proposals.
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy.py
#   python tools/train.py configs/mist/mist_vgg16-tiny_toy_finetune-10pct.py
_base_ = './mist_vgg16-tiny_toy.py'
load_from = 'work_dirs/mist_vgg16-tiny_toy/iter_400.pth'
train_dataloader = dict(dataset=dict(strong_fraction=0.1, strong_seed=0))
max_iters = 200
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[int(max_iters * 0.8)],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
