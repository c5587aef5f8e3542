from .acquisition import AcquisitionRunner, file_sha256, innermost_dataset
from .al_config import ALSettings
from .loop import ActiveLearningLoop
from .oracles import (AnnotationRequired, BaseOracle, GroundTruthOracle,
                      ManualOracle)
from .pool import Pool, SplitError, read_coco_json
from .splits import (CycleSplit, check_growth, cycle_dir, read_split,
                     selection_context, update_label_map, write_split)

__all__ = [
    'AcquisitionRunner', 'file_sha256', 'innermost_dataset', 'ALSettings',
    'ActiveLearningLoop', 'AnnotationRequired', 'BaseOracle',
    'GroundTruthOracle', 'ManualOracle', 'Pool', 'SplitError',
    'read_coco_json', 'CycleSplit', 'check_growth', 'cycle_dir', 'read_split',
    'selection_context', 'update_label_map', 'write_split'
]
