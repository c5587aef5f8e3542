"""Per-detection class distributions (C + 1, background last) from a head's
class probabilities."""
import torch


def sigmoid_distribution(probs: torch.Tensor) -> torch.Tensor:
    """The distribution of a sigmoid head's C independent probabilities.

    Background is ``1 - max`` of the C probabilities and the C + 1 values
    are normalised to sum to 1, as :class:`AnchorHeadProbe` does for
    RetinaNet.

    Args:
        probs (Tensor): (N, C) sigmoid probabilities.

    Returns:
        Tensor: (N, C + 1) rows that sum to 1, background last.
    """
    probs = probs.float()
    bg = 1 - probs.max(dim=1, keepdim=True)[0]
    dist = torch.cat([probs, bg], dim=1)
    return dist / dist.sum(dim=1, keepdim=True).clamp(min=1e-12)
