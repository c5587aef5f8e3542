from .concrete_dropblock import ConcreteDropBlock
from .loss_prediction import LossPredictionModule, margin_ranking_loss

__all__ = ['ConcreteDropBlock', 'LossPredictionModule', 'margin_ranking_loss']
