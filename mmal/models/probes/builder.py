"""Pick and build the probe adapter of a detector by asking the adapters."""
from typing import List, Sequence, Type

from mmal.registry import PROBE_PASSES, PROBES
from mmal.strategies import FIELDS, StrategyError
from .base_probe import BaseProbe, describe_model
from .extra_pass import PASS_FIELDS, PASS_NEEDS
from .extra_pass_probe import ExtraPassProbe


def probe_adapters() -> List[Type[BaseProbe]]:
    """The registered adapters in the order :func:`build_probe` asks them:
    highest ``priority`` first, ties by class name."""
    PROBES.import_from_location()
    return sorted(
        PROBES.module_dict.values(), key=lambda c: (-c.priority, c.__name__))


def build_probe(model,
                fields: Sequence[str],
                score_tol: float = 1e-6,
                passes: Sequence = ()) -> BaseProbe:
    """Build the first adapter that fits ``model`` and provides ``fields``.

    Every registered adapter is asked, in :func:`probe_adapters` order,
    whether it supports the model (``mismatch(model) is None``) and whether
    its ``provided_fields(model)`` cover ``fields``; nothing is hooked or
    run before one answers yes.

    Args:
        model (nn.Module): A built mmdet detector in eval mode.
        fields (Sequence[str]): Keys of :data:`mmal.strategies.FIELDS` that
            need the detector.
        score_tol (float): Relative tolerance of score tracing (see
            :class:`mmal.models.probes.ScoreTracingProbe`). Defaults to
            1e-6.
        passes (Sequence[dict]): Configs of extra passes
            (:data:`mmal.registry.PROBE_PASSES`, a strategy's
            ``extra_passes``) that provide the ``pass_*`` fields; the
            adapter is then built with the fields the matching needs and
            wrapped in :class:`ExtraPassProbe`. Defaults to none.

    Returns:
        BaseProbe: The adapter, to use as a context manager whose
        ``run(batch)`` returns ``(sample, fields)`` per image.

    Raises:
        StrategyError: If no adapter fits and provides every field (naming
            the detector, the missing fields and what each adapter needs),
            or the chosen adapter refuses the model's test config.
    """
    fields = tuple(fields)
    wanted = tuple(f for f in fields if f in PASS_FIELDS)
    if wanted or passes:
        if not passes:
            raise StrategyError(f'fields {list(wanted)} come from extra '
                                'passes, and none are declared (the '
                                "strategy's extra_passes)")
        built = []
        for cfg in passes:
            try:
                p = PROBE_PASSES.build(dict(cfg))
            except (KeyError, TypeError, ValueError) as e:
                raise StrategyError(f'extra pass {dict(cfg)!r}: {e}') from None
            reason = p.mismatch(model)
            if reason is not None:
                raise StrategyError(f'extra pass {type(p).__name__} cannot '
                                    f'run on {describe_model(model)}: '
                                    f'{reason}')
            built.append(p)
        base = tuple(f for f in fields if f not in PASS_FIELDS)
        base += tuple(f for f in PASS_NEEDS if f not in base)
        return ExtraPassProbe(
            build_probe(model, base, score_tol), built, fields)
    answers = []
    for adapter in probe_adapters():
        reason = adapter.mismatch(model)
        if reason is not None:
            answers.append((adapter, None, reason))
            continue
        missing = sorted(set(fields) - set(adapter.provided_fields(model)))
        if not missing:
            return adapter(model, fields, score_tol=score_tol)
        answers.append((adapter, missing, adapter.hint(model, missing)))
    raise StrategyError(_no_probe_message(model, fields, answers))


def _no_probe_message(model, fields, answers) -> str:
    fitting = [a for a in answers if a[1] is not None]
    # the fields no fitting adapter provides (all of them if none fits)
    missing = set(fields)
    for _, lacks, _ in fitting:
        missing &= set(lacks)
    missing = sorted(missing) or sorted(set().union(*(set(a[1])
                                                      for a in fitting)))
    known = [f for f in missing if f in FIELDS]
    lines = [
        f'detector {describe_model(model)} cannot provide fields {missing}' +
        (f' ({known} need a detector-specific probe that mmal does not have '
         'for it)' if known else '') + '. Probe adapters asked:'
    ]
    for adapter, lacks, text in answers:
        if lacks is None:
            lines.append(f'  {adapter.__name__}: {text}')
        else:
            lines.append(f'  {adapter.__name__} fits it but does not provide '
                         f'{lacks}' + (f': {text}' if text else ''))
    lines.append('To support it, register an adapter in '
                 'mmal/models/probes/ (see docs/add_a_detector.md) or make '
                 'the detector a mmal.models.probes.FieldProvider.')
    return '\n'.join(lines)
