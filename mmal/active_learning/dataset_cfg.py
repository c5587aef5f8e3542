"""Reading the dataset configs of an mmdet config."""
import os.path as osp

from mmengine.config import ConfigDict

from mmal.registry import DATASETS

#: mmengine / mmdet dataset wrappers: the dataset is inside them.
WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset', 'ConcatDataset')


def innermost_dataset(cfg: ConfigDict) -> ConfigDict:
    """The dataset config inside mmengine/mmdet dataset wrappers (first
    dataset of a ConcatDataset)."""
    ds = cfg
    while ds.get('type') in WRAPPERS or (ds.get('type') is None
                                         and 'dataset' in ds):
        ds = ds['dataset'] if 'dataset' in ds else ds['datasets'][0]
    return ds


def dataset_img_dir(ds: ConfigDict) -> str:
    prefix = (ds.get('data_prefix') or {}).get('img', '')
    return osp.join(ds.get('data_root') or '', prefix)


def configure_training_set(ds_cfg: ConfigDict, pool_ann_file: str,
                           labeled_file: str) -> None:
    """Point a cycle's training dataset config at its data.

    A dataset class declares how a cycle trains on it with a static
    ``configure_al_training(ds_cfg, pool_ann_file, labeled_file)`` (e.g.
    weakly-supervised datasets train on the whole pool, the labeled images
    fully annotated); any other dataset trains on the labeled split.
    """
    configure = getattr(
        DATASETS.get(ds_cfg.type), 'configure_al_training', None)
    if configure is None:
        ds_cfg.ann_file = labeled_file
    else:
        configure(ds_cfg, pool_ann_file, labeled_file)
