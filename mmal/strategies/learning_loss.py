"""Learning Loss (Yoo and Kweon, CVPR 2019): the top-b images by the loss
that a loss-prediction module trained with the detector predicts for them
(``type='LearningLossDetector'``, :mod:`mmal.models.detectors.learning_loss`).
"""
from mmal.registry import STRATEGIES
from .loss_ranking import LossRanking


@STRATEGIES.register_module(name=['LearningLoss', 'learning-loss'])
class LearningLoss(LossRanking):
    """Top-b images by the ``loss`` field, which a ``LearningLossDetector``
    provides as its module's predicted loss (ties at random, non-finite
    last). The ranking is :class:`LossRanking`'s; a class of its own so
    that a run records the method it ran."""
