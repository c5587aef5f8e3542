# RTMDet-s on COCO train2017 (data/coco/) under the ENMS paper's protocol
# schedule: 12 epochs per cycle, batch 16 (8 GPUs x 2 images), trained from
# scratch every cycle (the CSPNeXt ImageNet weights of mmdet's config are
# kept: they are the backbone's pretraining, as ResNet-50's are for the
# paper's Faster R-CNN). Not run at full scale here.
#
# RTMDet's own recipe (mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py: AdamW,
# batch 256, 300 epochs, mosaic then 20 plain epochs, EMA) is shortened to
# the protocol's 12 epochs: AdamW lr 0.004 x 16 / 256 (linear scaling to
# batch 16), 1000 warm-up iterations, flat then cosine to 5 % over the
# second half, the last epoch without mosaic (PipelineSwitchHook), EMA kept.
_base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'
default_scope = 'mmal'
max_epochs = 12
stage2_num_epochs = 1
base_lr = 0.004 * 16 / 256
train_dataloader = dict(batch_size=2, num_workers=4)
train_cfg = dict(
    max_epochs=max_epochs,
    val_interval=max_epochs,
    dynamic_intervals=[(max_epochs - stage2_num_epochs, max_epochs)])
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0e-5,
        by_epoch=False,
        begin=0,
        end=1000),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True)
]
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='PipelineSwitchHook',
        switch_epoch=max_epochs - stage2_num_epochs,
        switch_pipeline={{_base_.train_pipeline_stage2}})
]
# mmal's runtime: keep only the last checkpoint; per-class AP in the loop's
# results
default_hooks = dict(checkpoint=dict(interval=-1, save_last=True))
test_evaluator = dict(classwise=True)
