"""The detector of a cycle: its checkpoint loaded safely into the config's
model, and the checkpoint's identity."""
import hashlib

from mmengine.config import Config
from mmengine.device import get_device

from mmal.registry import MODELS
from mmal.utils.checkpoint import load_checkpoint_safely
from .pool import SplitError


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    """The sha256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            block = f.read(chunk)
            if not block:
                return h.hexdigest()
            h.update(block)


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
    model = build_detector(cfg, checkpoint_path, classes)
    model.to(get_device())
    model.eval()
    return model


def build_detector(cfg: Config, checkpoint_path: str, classes):
    """``cfg.model`` with the checkpoint's weights, on the CPU; a
    checkpoint that does not fit (other classes, missing keys, other
    shapes) is a :class:`SplitError` naming it."""
    ckpt = load_checkpoint_safely(checkpoint_path, map_location='cpu')
    check_checkpoint_classes(ckpt, classes, checkpoint_path)
    model = MODELS.build(cfg.model)
    state = ckpt.get('state_dict', ckpt)
    state = {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # size mismatch, e.g. another class count
        lines = [ln.strip() for ln in str(e).splitlines() if 'size' in ln]
        raise SplitError(
            f'checkpoint {checkpoint_path!r} does not fit the config\'s '
            f'model: {"; ".join(lines[:3]) or e} (trained with another '
            'number of classes or another model?)') from None
    if result.missing_keys:
        raise SplitError(
            f'checkpoint {checkpoint_path!r} does not fit the config\'s '
            f'model: missing {result.missing_keys[:5]} '
            f'({len(result.missing_keys)} keys)')
    return model
