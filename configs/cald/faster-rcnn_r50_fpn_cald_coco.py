# CALD with Faster R-CNN R50-FPN on COCO train2017, the CALD paper's COCO
# protocol (Yu et al., 2021; released code): 5,000 random images to start,
# +1,000 per cycle, the acquisition scoring a random 5,000 of the unlabeled
# pool; every cycle trained from scratch with the config's schedule.
#   tools/al_train.sh configs/cald/faster-rcnn_r50_fpn_cald_coco.py 8
_base_ = ['../faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py']
al = dict(
    num_cycles=7,
    seed=0,
    initial=dict(size=5000),
    budget=1000,
    pool_subsample=5000,
    train_mode='scratch',
    schedule=dict(type='epochs'),
    oracle=dict(type='GroundTruthOracle'),
    acquisition=dict(batch_size=8, num_workers=4),
    strategy=dict(
        type='cald',
        views=[dict(view='flip'),
               dict(view='resize', scale=0.8)],
        base_point=1.3,
        candidate_ratio=1.2))
