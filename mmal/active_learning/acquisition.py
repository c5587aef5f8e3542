"""The acquisition runner: score the unlabeled pool with a strategy and write
the next cycle's split.

All ranks run the detector over disjoint parts of the (sub-sampled) pool;
each reduces every image's detections to the strategy's summary at once and
appends it to its own shard files; rank 0 then reads all shards, selects
and writes ``selected.json`` while the other ranks wait at a barrier.
Shards are written atomically per chunk, so an interrupted pass resumes
where it stopped. No image is scored twice or skipped: ids are dealt out
explicitly instead of through a padding sampler.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import struct
import time
import zipfile
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.device import get_device
from mmengine.dist import (barrier, broadcast_object_list, get_rank,
                           get_world_size)
from torch.utils.data import ConcatDataset, DataLoader, Subset
from tqdm import tqdm

from mmal.registry import DATASETS, MODELS
from mmal.strategies import (MODEL_FIELDS, BaseStrategy, Selection,
                             SelectionContext, StrategyError, check_selection)
from mmal.utils.checkpoint import load_checkpoint_safely
from mmal.utils.fileio import atomic_open, atomic_write_json
from .distributed import run_on_rank0
from .oracles import BaseOracle
from .pool import Pool, SplitError
from .probes import PREDICTION_FIELDS, DetectorProbe

WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset', 'ConcatDataset')


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    """The sha256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            block = f.read(chunk)
            if not block:
                return h.hexdigest()
            h.update(block)


def innermost_dataset(cfg: ConfigDict) -> ConfigDict:
    """The dataset config inside mmengine/mmdet dataset wrappers (first
    dataset of a ConcatDataset)."""
    ds = cfg
    while ds.get('type') in WRAPPERS or (ds.get('type') is None
                                         and 'dataset' in ds):
        ds = ds['dataset'] if 'dataset' in ds else ds['datasets'][0]
    return ds


def dataset_img_dir(ds: ConfigDict) -> str:
    prefix = (ds.get('data_prefix') or {}).get('img', '')
    return osp.join(ds.get('data_root') or '', prefix)


def check_checkpoint_classes(checkpoint: dict, classes, path: str) -> None:
    """Raise if the checkpoint records other class names than ``classes``.
    """
    meta = checkpoint.get('meta') or {}
    ck_classes = (meta.get('dataset_meta') or {}).get('classes')
    if ck_classes is not None and tuple(ck_classes) != tuple(classes):
        raise SplitError(
            f'checkpoint {path!r} was trained on classes {list(ck_classes)} '
            f'but the config has {list(classes)}; use the config the '
            'checkpoint was trained with (metainfo.classes)')


def load_detector(cfg: Config, checkpoint_path: str, classes):
    """Build ``cfg.model``, load the checkpoint with ``weights_only=True``
    and check its classes; returns the model in eval mode on the device."""
    ckpt = load_checkpoint_safely(checkpoint_path, map_location='cpu')
    check_checkpoint_classes(ckpt, classes, checkpoint_path)
    model = MODELS.build(cfg.model)
    state = ckpt.get('state_dict', ckpt)
    state = {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise SplitError(
            f'checkpoint {checkpoint_path!r} does not fit the config\'s '
            f'model: missing {result.missing_keys[:5]} '
            f'({len(result.missing_keys)} keys)')
    model.to(get_device())
    model.eval()
    return model


# ----------------------------------------------------------------------------
# shards: one npz per chunk of images, columns concatenated with lengths
def _encode(ids: List[int], summaries: List[Mapping]) -> Dict[str, np.ndarray]:
    out = {'__ids__': np.asarray(ids, dtype=np.int64)}
    for key in summaries[0]:
        values = [np.asarray(s[key]) for s in summaries]
        for v in values:
            if v.dtype == object:
                raise StrategyError(f'summary field {key!r} must be numeric '
                                    'numpy data')
        out[f'{key}.__shape__'] = np.array([v.ndim for v in values],
                                           dtype=np.int64)
        flat = [np.atleast_1d(v) for v in values]
        out[f'{key}.__len__'] = np.array([len(v) for v in flat], np.int64)
        out[key] = np.concatenate(flat, axis=0)
    return out


def _decode(data: Mapping[str, np.ndarray]) -> Dict[int, Dict]:
    ids = data['__ids__']
    keys = [k for k in data if '.' not in k and k != '__ids__']
    result: Dict[int, Dict] = {int(i): {} for i in ids}
    for key in keys:
        ends = np.cumsum(data[f'{key}.__len__'])
        parts = np.split(data[key], ends[:-1])
        for i, part, ndim in zip(ids, parts, data[f'{key}.__shape__']):
            result[int(i)][key] = part.reshape(()) if ndim == 0 else part
    return result


def write_shard(path: str, ids: List[int], summaries: List[Mapping]) -> None:
    with atomic_open(path, 'wb') as f:
        np.savez(f, **_encode(ids, summaries))


def map_npz(path: str) -> Dict[str, np.ndarray]:
    """The arrays of an uncompressed ``.npz`` (``np.savez``) as read-only
    memory maps: nothing is read until used, so selection touches only the
    summaries it looks at (e.g. the prototypes of the images DivProto
    walks). Object arrays are refused (no pickle)."""
    out: Dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, 'rb') as f:
        for info in zf.infolist():
            name = info.filename
            key = name[:-4] if name.endswith('.npy') else name
            if info.compress_type != zipfile.ZIP_STORED:
                with zf.open(info) as member:
                    out[key] = np.lib.format.read_array(
                        member, allow_pickle=False)
                continue
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b'PK\x03\x04':
                raise ValueError(f'{path}: bad zip entry {name!r}')
            n_name, n_extra = struct.unpack('<HH', local[26:30])
            f.seek(info.header_offset + 30 + n_name + n_extra)
            major, _ = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1 else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
            if dtype.hasobject:
                raise ValueError(f'{path}: {key!r} holds Python objects, '
                                 'which summaries may not')
            if int(np.prod(shape)) == 0:
                out[key] = np.empty(shape, dtype=dtype)
                continue
            out[key] = np.memmap(
                path,
                dtype=dtype,
                mode='r',
                offset=f.tell(),
                shape=shape,
                order='F' if fortran else 'C')
    return out


def read_shards(shard_dir: str) -> Dict[int, Dict]:
    """All summaries of a shard folder, memory-mapped (see
    :func:`map_npz`); raises if an image appears twice."""
    out: Dict[int, Dict] = {}
    for path in sorted(glob.glob(osp.join(shard_dir, 'rank*.npz'))):
        part = _decode(map_npz(path))
        dup = set(part) & set(out)
        if dup:
            raise RuntimeError(f'{path}: images {sorted(dup)[:5]} were '
                               'already scored in another shard')
        out.update(part)
    return out


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
        if set(self.model_fields) - set(PREDICTION_FIELDS):
            # Fail now, before any training, if the detector cannot provide
            # what the strategy needs.
            try:
                DetectorProbe(MODELS.build(cfg.model), self.model_fields)
            except StrategyError as e:
                raise StrategyError(
                    f'strategy {type(strategy).__name__}: {e}') from None

    # -- scoring ---------------------------------------------------------
    def _meta(self, checkpoint: Optional[str], sha: Optional[str]) -> dict:
        return dict(
            strategy=self.strategy.describe(),
            fields=list(self.fields),
            checkpoint=checkpoint,
            checkpoint_sha256=sha)

    def score(self, ids: np.ndarray, checkpoint: Optional[str],
              sha: Optional[str], ann_files: Sequence[str],
              shard_dir: str) -> Dict[int, Dict]:
        """Summaries of ``ids`` (on rank 0; ``None`` elsewhere). Runs the
        detector only if the strategy needs detector fields.

        Args:
            ids (np.ndarray): The images to score.
            checkpoint (str, optional): The detector's checkpoint.
            sha (str, optional): Its sha256 (part of the shards' identity).
            ann_files (Sequence[str]): COCO json files that list ``ids``
                (e.g. the cycle's unlabeled.json, and labeled.json for
                strategies that also summarise the labeled images).
            shard_dir (str): Where the per-chunk summaries go.
        """
        if isinstance(ann_files, str):
            ann_files = [ann_files]
        if not self.model_fields:
            return run_on_rank0(
                lambda: {
                    int(i): self.strategy.summarize(
                        self._extra_fields(int(i)))
                    for i in ids
                })
        meta = self._meta(checkpoint, sha)

        def prepare():
            meta_file = osp.join(shard_dir, 'meta.json')
            if osp.exists(meta_file):
                with open(meta_file) as f:
                    old = json.load(f)
                if old != meta:
                    for p in glob.glob(osp.join(shard_dir, 'rank*.npz')):
                        os.unlink(p)
            atomic_write_json(meta, meta_file, indent=1)
            return sorted(read_shards(shard_dir))

        done = run_on_rank0(prepare)
        done = broadcast(done)
        todo = np.setdiff1d(ids, np.asarray(done, dtype=np.int64))
        mine = todo[get_rank()::get_world_size()]
        if mine.size:
            self._infer(
                mine, checkpoint, ann_files, shard_dir, total=todo.size)
        barrier()

        def gather():
            summaries = read_shards(shard_dir)
            missing = np.setdiff1d(ids, np.fromiter(summaries, np.int64))
            if missing.size:
                raise RuntimeError(f'{shard_dir}: images '
                                   f'{missing[:5].tolist()} were not scored')
            return {int(i): summaries[int(i)] for i in ids}

        return run_on_rank0(gather)

    def _extra_fields(self, img_id: int) -> Dict[str, np.ndarray]:
        out = {}
        if 'img_labels' in self.fields:
            out['img_labels'] = np.asarray(
                self.oracle.image_labels(img_id), dtype=np.int64)
        return out

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
    def _infer(self, ids: np.ndarray, checkpoint: str,
               ann_files: Sequence[str], shard_dir: str, total: int) -> None:
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
        model = load_detector(self.cfg, checkpoint, self.pool.classes)
        bar = tqdm(
            total=total,
            unit='img',
            desc=f'scoring pool (x{get_world_size()} ranks)',
            disable=not self.progress or rank != 0,
            dynamic_ncols=True)
        buf_ids: List[int] = []
        buf: List[Mapping] = []
        chunk = len(glob.glob(osp.join(shard_dir, f'rank{rank}-*.npz')))
        with DetectorProbe(model, self.model_fields) as probe:
            for batch in loader:
                outputs = probe.run(batch)
                for sample, fields in outputs:
                    img_id = int(sample.metainfo['img_id'])
                    fields.update(self._extra_fields(img_id))
                    buf_ids.append(img_id)
                    buf.append(self.strategy.summarize(fields))
                if len(buf_ids) >= self.shard_size:
                    write_shard(
                        osp.join(shard_dir, f'rank{rank}-{chunk:05d}.npz'),
                        buf_ids, buf)
                    chunk += 1
                    buf_ids, buf = [], []
                bar.update(len(outputs) * get_world_size())
        if buf_ids:
            write_shard(
                osp.join(shard_dir, f'rank{rank}-{chunk:05d}.npz'), buf_ids,
                buf)
        bar.close()

    # -- selection -------------------------------------------------------
    def select(self, summaries: Dict[int, Dict], budget: int,
               context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        """Run the strategy's ``select`` and check its contract."""
        ids = np.fromiter(summaries, dtype=np.int64)
        selection = self.strategy.select(summaries, budget, context, rng)
        return check_selection(self.strategy, selection, ids, budget)


def broadcast(obj):
    """``obj`` of rank 0 on every rank."""
    if get_world_size() == 1:
        return obj
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]


def _jsonable(obj):
    """``obj`` with numpy scalars / arrays turned into json types."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def selection_record(selection: Selection, strategy: BaseStrategy, seed: int,
                     cycle: int, checkpoint: Optional[str], sha: Optional[str],
                     budget: int, scored: int, timings: Dict[str,
                                                             float]) -> dict:
    """The content of ``selected.json``."""
    scores = selection.scores
    return dict(
        cycle=cycle + 1,
        scored_by_cycle=cycle,
        image_ids=[int(i) for i in selection.ids],
        scores=None if scores is None else [float(s) for s in scores],
        strategy=strategy.describe(),
        details=_jsonable(selection.extra),
        seed=seed,
        budget=budget,
        num_scored=scored,
        checkpoint=checkpoint,
        checkpoint_sha256=sha,
        time=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        timings=timings)
