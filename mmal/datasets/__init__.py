from .proposal_file import load_proposals, read_proposal_meta, save_proposals
from .proposal_recall import proposal_recall
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
from .weak_datasets import WeakCocoDataset, WeakVOCDataset  # noqa: F401

__all__ = [
    'load_proposals', 'proposal_recall', 'read_proposal_meta', 'save_proposals'
]
