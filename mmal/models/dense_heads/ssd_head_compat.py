from mmdet.models.dense_heads import SSDHead

from mmal.registry import MODELS


@MODELS.register_module()
class SSDHeadCompat(SSDHead):
    """mmdet's ``SSDHead``, able to predict under mmdet 3.3.

    ``SSDHead.__init__`` skips ``AnchorHead.__init__`` and so never sets
    ``loss_cls``, which mmdet 3.3's ``BaseDenseHead._predict_by_feat_single``
    reads: prediction (validation, testing, the acquisition pool pass) fails
    with ``AttributeError: 'SSDHead' object has no attribute 'loss_cls'``
    (mmdet issues #11063 and #11780, unfixed in 3.3.0). SSD computes its
    classification loss inline (hard negative mining), so ``loss_cls`` is
    ``None`` here and nothing else changes.

    Args:
        *args, **kwargs: Those of ``mmdet.models.dense_heads.SSDHead``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not hasattr(self, 'loss_cls'):
            self.loss_cls = None
