from .proposal_transforms import (CleanProposals, apply_clean, clean_proposals,
                                  clip_boxes)

__all__ = ['CleanProposals', 'apply_clean', 'clean_proposals', 'clip_boxes']
