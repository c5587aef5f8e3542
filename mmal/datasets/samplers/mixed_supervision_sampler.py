"""Sampling weakly and fully annotated images in a fixed ratio."""
import itertools
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmal.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class MixedSupervisionSampler(Sampler):
    """An infinite sampler (for iteration-based training) that draws fully
    annotated images with probability ``strong_ratio`` and the other images
    otherwise, with replacement, as BiB's weighted sampler does.

    With no fully annotated image (or only such images) it draws uniformly.
    Each rank draws its own stream from ``(seed, rank)``.

    Args:
        dataset: A dataset whose data infos carry ``fully_annotated``.
        strong_ratio (float): Expected fraction of fully annotated images
            in the stream. Defaults to 0.5.
        seed (int, optional): Seed, shared by the ranks. Defaults to a
            synchronised random one.
    """

    def __init__(self,
                 dataset,
                 strong_ratio: float = 0.5,
                 seed: Optional[int] = None) -> None:
        if not 0.0 <= strong_ratio <= 1.0:
            raise ValueError(
                f'strong_ratio must be in [0, 1], got {strong_ratio}')
        self.dataset = dataset
        self.strong_ratio = strong_ratio
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        flags = np.array([
            bool(dataset.get_data_info(i).get('fully_annotated', False))
            for i in range(len(dataset))
        ])
        num_strong = int(flags.sum())
        if num_strong in (0, len(flags)):
            probs = np.full(len(flags), 1.0 / max(1, len(flags)))
        else:
            probs = np.where(flags, strong_ratio / num_strong,
                             (1 - strong_ratio) / (len(flags) - num_strong))
        self.num_strong = num_strong
        self.probs = probs / probs.sum()

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.rank])
        for _ in itertools.count():
            yield from rng.choice(len(self.probs), 1024, p=self.probs).tolist()

    def __len__(self) -> int:
        return len(self.probs)

    def set_epoch(self, epoch: int) -> None:
        """Not used: the stream is infinite."""
