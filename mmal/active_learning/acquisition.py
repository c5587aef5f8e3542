"""The acquisition runner: score the unlabeled pool with a strategy and
select the next images.

All ranks run the detector over disjoint parts of the (sub-sampled) pool;
each reduces every image's detections to the strategy's summary at once and
streams it to the summary store (:mod:`.summary_store`); rank 0 then reads
the store and selects while the other ranks wait at a barrier. Shards are
written atomically per chunk, so an interrupted pass resumes where it
stopped. No image is scored twice or skipped: ids are dealt out explicitly
instead of through a padding sampler.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.dist import barrier, get_rank, get_world_size
from torch.utils.data import ConcatDataset, DataLoader, Subset
from tqdm import tqdm

from mmal.engine.hooks.train_state_hook import (hooks_train_state,
                                                read_train_state)
from mmal.models.probes import PREDICTION_FIELDS, build_probe
from mmal.models.probes.field_provider import QUERY_BOXES_KEY
from mmal.registry import DATASETS, MODELS
from mmal.strategies import (MODEL_FIELDS, BaseStrategy, Selection,
                             SelectionContext, StrategyError, check_selection)
from mmal.utils.checkpoint import load_checkpoint_safely
from .annotation_formats.pre_annotations import DETECTION_FIELDS
from .box_budget import first_request, select_by_boxes
from .dataset_cfg import innermost_dataset
from .detector import load_detector
from .distributed import broadcast, run_on_rank0
from .oracles import BaseOracle
from .pool import Pool, SplitError
from .summary_store import Summaries, SummaryStore


class AcquisitionRunner:
    """Score a pool with a strategy and select the next images.

    Args:
        cfg (Config): The detector config (model, test pipeline).
        pool (Pool): The run's pool.
        strategy (BaseStrategy): A built strategy.
        oracle (BaseOracle): Provides image-level labels (``img_labels``).
        img_dir (str): The pool's image folder.
        batch_size (int, optional): Inference batch size. Defaults to the
            test dataloader's.
        num_workers (int, optional): Dataloader workers. Defaults to the test
            dataloader's.
        shard_size (int): Images per shard file. Defaults to 256.
        progress (bool): Show a progress bar on rank 0. Defaults to True.
    """

    def __init__(self,
                 cfg: Config,
                 pool: Pool,
                 strategy: BaseStrategy,
                 oracle: BaseOracle,
                 img_dir: str,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 shard_size: int = 256,
                 progress: bool = True):
        self.cfg = cfg
        self.pool = pool
        self.strategy = strategy
        self.oracle = oracle
        self.img_dir = img_dir
        test_loader = cfg.get('test_dataloader') or {}
        self.batch_size = batch_size or test_loader.get('batch_size', 1)
        self.num_workers = (
            num_workers if num_workers is not None else test_loader.get(
                'num_workers', 0))
        self.shard_size = shard_size
        self.progress = progress
        self.fields = tuple(strategy.requires)
        self.model_fields = tuple(f for f in self.fields if f in MODEL_FIELDS)
        # An oracle that shows annotators the model's detections asks for
        # them; they are kept with the summaries as the det_* display
        # fields (only where the detector runs anyway).
        self.det_min_score = oracle.pre_annotation_min_score
        if self.det_min_score is not None and self.model_fields:
            self.model_fields = tuple(
                dict.fromkeys(self.model_fields + PREDICTION_FIELDS))
        else:
            self.det_min_score = None
        if set(self.model_fields) - set(PREDICTION_FIELDS):
            # Fail now, before any training, if the detector cannot provide
            # what the strategy needs.
            try:
                build_probe(
                    MODELS.build(cfg.model),
                    self.model_fields,
                    passes=strategy.extra_passes)
            except StrategyError as e:
                raise StrategyError(
                    f'strategy {type(strategy).__name__}: {e}') from None
        missing = sorted(
            set(strategy.train_state) -
            set(hooks_train_state(cfg.get('custom_hooks'))))
        if missing:
            raise StrategyError(
                f'strategy {type(strategy).__name__} needs the train state '
                f'{missing}, which no hook in custom_hooks saves (e.g. '
                'custom_hooks=[dict(type="mmal.ClassQualityHook")] for '
                'class_quality)')

    def train_state(self, checkpoint: str) -> Optional[Dict[str, np.ndarray]]:
        """What the strategy's ``train_state`` names, read from the
        checkpoint (None when it names nothing)."""
        if not self.strategy.train_state:
            return None
        try:
            return read_train_state(
                load_checkpoint_safely(checkpoint, map_location='cpu'),
                self.strategy.train_state, checkpoint)
        except KeyError as e:
            raise StrategyError(
                f'strategy {type(self.strategy).__name__}: {e.args[0]}'
            ) from None

    # -- scoring ---------------------------------------------------------
    def _meta(self, checkpoint: Optional[str], sha: Optional[str]) -> dict:
        return dict(
            strategy=self.strategy.describe(),
            fields=list(self.fields),
            display_fields=list(
                dict.fromkeys(
                    tuple(self.strategy.display_fields) +
                    (DETECTION_FIELDS if self.det_min_score is not None else
                     ()))),
            checkpoint=checkpoint,
            checkpoint_sha256=sha)

    def score(self, ids: np.ndarray, checkpoint: Optional[str],
              sha: Optional[str], ann_files: Sequence[str],
              shard_dir: str) -> Optional[Summaries]:
        """Summaries of ``ids``, in that order (on rank 0; ``None``
        elsewhere). Runs the detector only if the strategy needs detector
        fields.

        Args:
            ids (np.ndarray): The images to score.
            checkpoint (str, optional): The detector's checkpoint.
            sha (str, optional): Its sha256 (part of the store's identity).
            ann_files (Sequence[str]): COCO json files that list ``ids``
                (e.g. the cycle's unlabeled.json, and labeled.json for
                strategies that also summarise the labeled images).
            shard_dir (str): The summary store's folder.
        """
        if isinstance(ann_files, str):
            ann_files = [ann_files]
        if not self.model_fields:
            return run_on_rank0(lambda: Summaries.from_dict({
                int(i):
                self.strategy.summarize(self._extra_fields(int(i)))
                for i in ids
            }))
        # the checkpoint must fit before anything is written
        model = load_detector(self.cfg, checkpoint, self.pool.classes)
        store = SummaryStore(shard_dir)
        meta = self._meta(checkpoint, sha)
        done = run_on_rank0(lambda: store.prepare(meta).tolist())
        done = broadcast(done)
        todo = np.setdiff1d(ids, np.asarray(done, dtype=np.int64))
        mine = todo[get_rank()::get_world_size()]
        if mine.size:
            self._infer(mine, model, ann_files, store, total=todo.size)
        barrier()
        return run_on_rank0(lambda: store.read(ids))

    def _extra_fields(self, img_id: int) -> Dict[str, np.ndarray]:
        out = {}
        if 'img_labels' in self.fields:
            out['img_labels'] = np.asarray(
                self.oracle.image_labels(img_id), dtype=np.int64)
        if 'query_boxes' in self.fields:
            out['query_boxes'] = self._query_boxes(img_id)
        return out

    def _query_boxes(self, img_id: int) -> np.ndarray:
        boxes = np.asarray(self.strategy.query_boxes(img_id), np.float32)
        return boxes.reshape(-1, 4)

    def _ask_query_boxes(self, batch) -> None:
        """Put the strategy's query boxes into each data sample, where a
        detector computing ``query_feats`` reads them."""
        if 'query_feats' not in self.model_fields:
            return
        for sample in batch['data_samples']:
            sample.set_metainfo({
                QUERY_BOXES_KEY:
                self._query_boxes(int(sample.metainfo['img_id']))
            })

    def _build_dataset(self, ann_file: str):
        train_ds = innermost_dataset(self.cfg.train_dataloader.dataset)
        test_ds = innermost_dataset(self.cfg.test_dataloader.dataset)
        pipeline = [
            t for t in test_ds.pipeline
            if t.get('type') not in ('LoadAnnotations',
                                     'mmdet.LoadAnnotations')
        ]
        ds_cfg = dict(
            type=train_ds.type,
            data_root=train_ds.get('data_root'),
            data_prefix=train_ds.get('data_prefix', dict(img='')),
            metainfo=train_ds.get('metainfo'),
            ann_file=osp.abspath(ann_file),
            test_mode=True,
            pipeline=pipeline,
            backend_args=train_ds.get('backend_args'))
        if train_ds.get('proposal_file'):  # detectors over given proposals
            ds_cfg['proposal_file'] = train_ds.proposal_file
        return DATASETS.build(ds_cfg)

    @torch.no_grad()
    def _infer(self, ids: np.ndarray, model, ann_files: Sequence[str],
               store: SummaryStore, total: int) -> None:
        rank = get_rank()
        parts = [self._build_dataset(f) for f in ann_files]
        dataset = ConcatDataset(parts)
        index, offset = {}, 0
        for part in parts:
            for i in range(len(part)):
                index.setdefault(part.get_data_info(i)['img_id'], offset + i)
            offset += len(part)
        missing = [int(i) for i in ids if int(i) not in index]
        if missing:
            raise SplitError(f'{list(ann_files)}: images {missing[:5]} are '
                             'not in these annotation files')
        loader = DataLoader(
            Subset(dataset, [index[int(i)] for i in ids]),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            shuffle=False,
            collate_fn=pseudo_collate)
        bar = tqdm(
            total=total,
            unit='img',
            desc=f'scoring pool (x{get_world_size()} ranks)',
            disable=not self.progress or rank != 0,
            dynamic_ncols=True)
        writer = store.writer(rank, self.shard_size, expected=len(ids))
        with build_probe(
                model, self.model_fields,
                passes=self.strategy.extra_passes) as probe:
            for batch in loader:
                self._ask_query_boxes(batch)
                outputs = probe.run(batch)
                for sample, fields in outputs:
                    img_id = int(sample.metainfo['img_id'])
                    fields.update(self._extra_fields(img_id))
                    writer.add(img_id, self._summarize(fields))
                bar.update(len(outputs) * get_world_size())
        writer.flush()
        bar.close()

    def _summarize(self, fields: Dict[str, np.ndarray]) -> dict:
        """The strategy's summary, with the detections the oracle shows
        (``det_*``, the strategy's own where it writes them)."""
        summary = dict(self.strategy.summarize(fields))
        if self.det_min_score is not None:
            scores = np.asarray(fields['scores'], np.float32).reshape(-1)
            keep = scores >= self.det_min_score
            boxes = np.asarray(fields['bboxes'], np.float32).reshape(-1, 4)
            labels = np.asarray(fields['labels'], np.int64).reshape(-1)
            for key, value in zip(DETECTION_FIELDS, (boxes, scores, labels)):
                summary.setdefault(key, value[keep])
        return summary

    # -- selection -------------------------------------------------------
    def select(self, summaries: Summaries, budget: int,
               context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        """Run the strategy's ``select`` and check its contract."""
        selection = self.strategy.select(summaries, budget, context, rng)
        return check_selection(self.strategy, selection, summaries.ids, budget)

    def select_for_budget(
            self, summaries: Summaries, images: Optional[int],
            boxes: Optional[int], context: SelectionContext,
            rng: np.random.Generator) -> Tuple[Selection, int, Optional[dict]]:
        """Select for ``al.budget``: ``images`` per acquisition, or, for a
        box budget (``boxes`` not None), the strategy's order cut where the
        oracle's box counts reach ``boxes`` (:mod:`.box_budget`).

        Returns:
            tuple: The selection, its image count as the budget to record
            and check, and the cut (None for an image budget).
        """
        if boxes is None:
            return self.select(summaries, images, context, rng), images, None
        n = len(summaries.ids)
        first = first_request(boxes, len(context.labeled_ids),
                              int(np.sum(context.class_counts)), n)
        sel, cut = select_by_boxes(
            lambda b, r: self.select(summaries, b, context, r),
            self.oracle.box_count, boxes, first, n, rng)
        k = cut['taken']
        scores = None if sel.scores is None else sel.scores[:k]
        return Selection(ids=sel.ids[:k], scores=scores, extra=sel.extra), \
            k, cut
