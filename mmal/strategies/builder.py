import copy

from mmal.registry import STRATEGIES
from .base_strategy import DISPLAY_FIELDS, FIELDS, BaseStrategy, StrategyError


def build_strategy(cfg: dict) -> BaseStrategy:
    """Build a strategy from ``dict(type=..., **hyper_parameters)`` and check
    what it declares.

    Args:
        cfg (dict): The strategy config (``al.strategy``).

    Returns:
        BaseStrategy: The strategy; its config is kept for the record.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise StrategyError(f'al.strategy must be a dict with a "type" '
                            f'(one of {sorted(STRATEGIES.module_dict)}), got '
                            f'{cfg!r}')
    cfg = copy.deepcopy(dict(cfg))
    if STRATEGIES.get(cfg['type']) is None:
        raise StrategyError(f'al.strategy.type {cfg["type"]!r} is not a '
                            f'registered strategy; known: '
                            f'{sorted(STRATEGIES.module_dict)}')
    try:
        strategy = STRATEGIES.build(cfg)
    except (TypeError, ValueError) as e:
        raise StrategyError(f'al.strategy {cfg!r}: {e}') from None
    if not isinstance(strategy, BaseStrategy):
        raise StrategyError(f'{cfg["type"]} is not a BaseStrategy')
    unknown = set(strategy.requires) - set(FIELDS)
    if unknown:
        raise StrategyError(f'{cfg["type"]} requires unknown fields '
                            f'{sorted(unknown)}; known: {sorted(FIELDS)}')
    shown = set(strategy.display_fields) - set(DISPLAY_FIELDS)
    if shown:
        raise StrategyError(f'{cfg["type"]} declares unknown display fields '
                            f'{sorted(shown)}; known: '
                            f'{sorted(DISPLAY_FIELDS)}')
    strategy._cfg = cfg
    return strategy
