from .base_oracle import AnnotationRequired, BaseOracle
from .ground_truth_oracle import GroundTruthOracle
from .manual_oracle import ManualOracle

__all__ = [
    'AnnotationRequired', 'BaseOracle', 'GroundTruthOracle', 'ManualOracle'
]
