from .bib import BiBSplits
from .blad import BLADSplits
from .mi_aod import MIAODSplits
from .mmal_work_dir import MMALWorkDir
from .ppal import PPALSplits
from .split_format import (BaseSplitFormat, NameMatcher, RecordedCycle,
                           SplitHistory, build_split_format)

__all__ = [
    'BaseSplitFormat', 'NameMatcher', 'RecordedCycle', 'SplitHistory',
    'build_split_format', 'BiBSplits', 'BLADSplits', 'MIAODSplits',
    'MMALWorkDir', 'PPALSplits'
]
