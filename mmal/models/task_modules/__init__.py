from .mist_targets import assign_proposals, difs_sample, mist_pseudo_boxes

__all__ = ['assign_proposals', 'difs_sample', 'mist_pseudo_boxes']
