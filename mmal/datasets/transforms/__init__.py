from .proposal_transforms import CleanProposals

__all__ = ['CleanProposals']
