from .proposals import (apply_clean, clean_proposals, convert_proposal_pickle,
                        load_proposals, make_toy_proposals, proposal_recall,
                        read_proposal_meta, read_proposal_pickle,
                        save_proposals, toy_proposals)
from .samplers import *  # noqa: F401,F403
from .toy_shapes import (MAX_CLASSES, ToySpec, generate_toy_dataset,
                         make_toy_benchmark, prepare_toy_data, toy_class_names)

__all__ = [
    'MAX_CLASSES', 'ToySpec', 'generate_toy_dataset', 'make_toy_benchmark',
    'prepare_toy_data', 'toy_class_names', 'apply_clean', 'clean_proposals',
    'convert_proposal_pickle', 'load_proposals', 'make_toy_proposals',
    'proposal_recall', 'read_proposal_meta', 'read_proposal_pickle',
    'save_proposals', 'toy_proposals'
]
from .transforms import *  # noqa: F401,F403
from .weak_datasets import WeakCocoDataset, WeakVOCDataset  # noqa: F401
