from .acquisition import AcquisitionRunner
from .al_config import ALSettings
from .dataset_cfg import (configure_training_set, dataset_img_dir,
                          innermost_dataset)
from .detector import file_sha256, load_detector
from .loop import ActiveLearningLoop
from .oracles import (AnnotationRequired, BaseOracle, GroundTruthOracle,
                      ManualOracle)
from .pool import Pool, SplitError, read_coco_json
from .schedules import BaseSchedule, ConfigSchedule, ItersPerImageSchedule
from .splits import (CycleSplit, check_growth, read_split, selection_context,
                     update_label_map, write_split)
from .summary_store import Summaries, SummaryStore, write_shard
from .work_dir import CycleDir, WorkDir

__all__ = [
    'AcquisitionRunner', 'ALSettings', 'configure_training_set',
    'dataset_img_dir', 'innermost_dataset', 'file_sha256', 'load_detector',
    'ActiveLearningLoop', 'AnnotationRequired', 'BaseOracle',
    'GroundTruthOracle', 'ManualOracle', 'Pool', 'SplitError',
    'read_coco_json', 'BaseSchedule', 'ConfigSchedule',
    'ItersPerImageSchedule', 'CycleSplit', 'check_growth', 'read_split',
    'selection_context', 'update_label_map', 'write_split', 'Summaries',
    'SummaryStore', 'write_shard', 'CycleDir', 'WorkDir'
]
