"""MIST: a weakly-supervised detector over precomputed proposals."""
import contextlib
from typing import Dict, Iterable

import torch
from mmdet.models.detectors import TwoStageDetector
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict

from mmal.models.probes.field_provider import FieldProvider
from mmal.registry import (MODEL_WRAPPERS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                           OPTIM_WRAPPERS, OPTIMIZERS)


@contextlib.contextmanager
def _no_grad_for(params: Iterable[torch.nn.Parameter]):
    """Temporarily stop gradients to ``params`` (restoring each flag)."""
    params = [p for p in params if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@MODELS.register_module()
class MIST(TwoStageDetector, FieldProvider):
    """A two-stage detector without RPN: the proposals come with the data
    (``proposal_file`` + ``LoadProposals``) and the RoI head is a
    :class:`MISTRoIHead` trained from image-level labels (and ground-truth
    boxes on the images flagged ``fully_annotated``).

    A :class:`mmal.models.probes.FieldProvider`: besides mmdet's
    ``pred_instances`` (``bboxes``, ``scores``, ``labels``), prediction adds
    the :attr:`provided_fields` that active-learning strategies ask for
    through :meth:`request_fields` (called by
    :class:`mmal.models.probes.FieldProviderProbe`): ``cls_probs``,
    ``feats`` (fc7 of the detection's proposal) and ``box_feats`` (fc7
    pooled at its final box) per detection, and the per-image ``loss`` and
    ``query_feats`` (fc7 pooled at the sample's ``metainfo[QUERY_BOXES_KEY]``)
    in ``pred_instances.metainfo[IMAGE_FIELDS_KEY]``.

    Training with Concrete DropBlock (``roi_head.cdb``) takes an
    ``OptimWrapperDict`` with ``detector`` and ``cdb`` wrappers (built by
    :class:`MISTOptimWrapperConstructor`): each step first updates the
    detector on its loss, then runs a second forward and updates the
    DropBlock network on the negated loss.
    """
    #: Per-detection / per-image fields the model computes itself.
    provided_fields = ('cls_probs', 'feats', 'box_feats', 'query_feats',
                       'loss')

    def __init__(self,
                 backbone: dict,
                 roi_head: dict,
                 train_cfg: dict,
                 test_cfg: dict,
                 neck=None,
                 data_preprocessor=None,
                 init_cfg=None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            rpn_head=None,
            roi_head=roi_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)

    @staticmethod
    def _check_proposals(batch_data_samples) -> None:
        for sample in batch_data_samples:
            if sample.get('proposals', None) is None:
                raise KeyError(
                    'MIST takes precomputed proposals, but image '
                    f"{sample.metainfo.get('img_path')} has none: set the "
                    "dataset's proposal_file and put LoadProposals in the "
                    'pipeline (see configs/mist/)')

    def loss(self, batch_inputs, batch_data_samples) -> Dict[str, object]:
        self._check_proposals(batch_data_samples)
        return super().loss(batch_inputs, batch_data_samples)

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        self._check_proposals(batch_data_samples)
        x = self.extract_feat(batch_inputs)
        results = self.roi_head.predict(
            x, [s.proposals for s in batch_data_samples],
            batch_data_samples,
            rescale=rescale,
            fields=self.probe_request)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def train_step(self, data, optim_wrapper):
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        return self.two_pass_step(data, optim_wrapper, self)

    def two_pass_step(self, data, optim_wrapper: OptimWrapperDict, model):
        """One Concrete DropBlock training step: the detector descends its
        loss with the DropBlock network fixed, then a second forward lets
        the DropBlock network ascend the same loss with the detector fixed.

        Args:
            data: A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): ``detector`` and ``cdb``.
            model: What runs the forward passes: this model, or the
                :class:`MISTDistributedDataParallel` wrapping it (so that
                gradients are averaged across processes).
        """
        cdb = getattr(self.roi_head, 'cdb', None)
        if cdb is None or set(optim_wrapper.keys()) != {'detector', 'cdb'}:
            raise ValueError(
                'an OptimWrapperDict is for training MIST with Concrete '
                "DropBlock: it needs exactly the keys 'detector' and 'cdb' "
                f'and roi_head.cdb set; got keys {sorted(optim_wrapper)} '
                f'and cdb={cdb is not None}')
        detector, dropblock = optim_wrapper['detector'], optim_wrapper['cdb']
        cdb_params = list(cdb.parameters())
        cdb_ids = {id(p) for p in cdb_params}
        det_params = [p for p in self.parameters() if id(p) not in cdb_ids]
        data = self.data_preprocessor(data, True)
        with detector.optim_context(model), _no_grad_for(cdb_params):
            losses = model(**data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        detector.update_params(parsed)
        with dropblock.optim_context(model), _no_grad_for(det_params):
            losses = model(**data, mode='loss')
        parsed_cdb, _ = self.parse_losses(losses)
        dropblock.update_params(-parsed_cdb)
        return log_vars


@MODEL_WRAPPERS.register_module()
class MISTDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper, able to run MIST's two-pass Concrete
    DropBlock step (an ``OptimWrapperDict``) with both passes going through
    DDP. Use with ``find_unused_parameters=True``: each pass leaves one
    parameter set without gradients.

    Config::

        model_wrapper_cfg = dict(
            type='MISTDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=True)
    """

    def train_step(self, data, optim_wrapper):
        if isinstance(optim_wrapper, OptimWrapperDict):
            return self.module.two_pass_step(data, optim_wrapper, self)
        return super().train_step(data, optim_wrapper)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MISTOptimWrapperConstructor:
    """Two optimizers for MIST with Concrete DropBlock: ``detector`` over
    every parameter but ``roi_head.cdb``'s, ``cdb`` over those.

    Config::

        optim_wrapper = dict(
            constructor='MISTOptimWrapperConstructor',
            detector=dict(type='OptimWrapper', optimizer=dict(...)),
            cdb=dict(type='OptimWrapper', optimizer=dict(...)))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        missing = {'detector', 'cdb'} - set(optim_wrapper_cfg)
        if missing:
            raise ValueError('MISTOptimWrapperConstructor needs the optim '
                             f'wrapper configs {sorted(missing)}')
        if paramwise_cfg:
            raise ValueError('MISTOptimWrapperConstructor does not take a '
                             'paramwise_cfg')
        self.cfgs = optim_wrapper_cfg

    def __call__(self, model) -> OptimWrapperDict:
        if hasattr(model, 'module'):
            model = model.module
        cdb = getattr(model.roi_head, 'cdb', None)
        if cdb is None:
            raise ValueError('MISTOptimWrapperConstructor: the model has no '
                             'roi_head.cdb; use a plain optim_wrapper')
        cdb_ids = {id(p) for p in cdb.parameters()}
        params = dict(
            detector=[
                p for p in model.parameters()
                if id(p) not in cdb_ids and p.requires_grad
            ],
            cdb=list(cdb.parameters()))
        wrappers = {}
        for name in ('detector', 'cdb'):
            cfg = dict(self.cfgs[name])
            cfg.setdefault('type', 'OptimWrapper')
            optimizer = dict(cfg.pop('optimizer'))
            optimizer['params'] = params[name]
            cfg['optimizer'] = OPTIMIZERS.build(optimizer)
            wrappers[name] = OPTIM_WRAPPERS.build(cfg)
        return OptimWrapperDict(**wrappers)
