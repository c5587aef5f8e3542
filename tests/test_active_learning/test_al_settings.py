"""Bad ``al`` settings and strategy configs are refused with a message that
names the key and what was expected (the loop reads them before any work;
these rows of the bad-input table come from here)."""
import pytest
from mmengine.config import Config

from mmal.active_learning import ALSettings, SplitError
from mmal.strategies import StrategyError, build_strategy
from mmal.testing.refusal_table import refused

GOOD = dict(strategy=dict(type='u-random'), budget=10, initial=dict(size=10))


@pytest.mark.parametrize('case,edit,match', [
    ('no al section', None, 'the config has no "al" section'),
    ('unknown al key', dict(budjet=5), r"al: unknown keys \['budjet'\]"),
    ('al.strategy missing', dict(strategy=None), 'al.strategy is required'),
    ('al.budget missing', dict(budget=None), 'al.budget is required'),
    ('al.num_cycles not an int >= 1', dict(num_cycles=0),
     'al.num_cycles must be an int >= 1, got 0'),
    ('al.seed negative', dict(seed=-1), 'al.seed must be an int >= 0'),
    ('al.initial neither a size nor a split file',
     dict(initial=dict(size=3, split_file='x.json')),
     'al.initial must be an image count, a ratio'),
    ('al.train_mode unknown', dict(train_mode='warm'),
     r"al.train_mode must be one of \('scratch'"),
    ('al.train_mode finetune_from without a checkpoint',
     dict(train_mode='finetune_from'),
     "al.train_mode='finetune_from' needs al.finetune_from"),
    ('al.schedule iters_per_image without iters_per_image',
     dict(schedule=dict(type='iters_per_image')), 'iters_per_image'),
])
def test_bad_al_settings_are_refused(case, edit, match):
    if edit is None:
        cfg = Config(dict())
    else:
        al = dict(GOOD, **edit)
        cfg = Config(dict(al={k: v for k, v in al.items() if v is not None}))
    with refused(SplitError, match, case):
        ALSettings.from_cfg(cfg)


@pytest.mark.parametrize('case,al,match', [
    ('al.budget a string', dict(budget='10'),
     "al.budget must be an image count .* got '10'"),
    ('al.budget zero', dict(budget=0), 'al.budget must be positive, got 0'),
    ('al.initial.size ratio above 1', dict(initial=dict(size=1.5)),
     r'al.initial.size=1.5 is a ratio and must lie in \(0, 1\]'),
    ('al.pool_subsample smaller than al.budget',
     dict(pool_subsample=5, budget=8,
          num_cycles=2), r'al.pool_subsample \(5 images\) is '
     r'smaller than al.budget \(8\)'),
])
def test_counts_that_do_not_fit_the_pool_are_refused(case, al, match):
    settings = ALSettings.from_cfg(Config(dict(al=dict(GOOD, **al))))
    with refused(SplitError, match, case):
        settings.check_sizes(40, settings.initial_images(40))
        settings.budget_images(40)


@pytest.mark.parametrize('case,cfg,match', [
    ('al.strategy not a dict with a type', 'u-random',
     'al.strategy must be a dict with a "type"'),
    ('al.strategy.type not registered', dict(type='entropy-mean'),
     "al.strategy.type 'entropy-mean' is not a registered strategy"),
    ('strategy hyper-parameter misspelt', dict(
        type='ENMSDivProto',
        t_intr=0.7), "unexpected keyword argument 't_intr'"),
    ('strategy threshold out of its range',
     dict(type='ENMSDivProto', t_intra=-3), 't_intra'),
])
def test_bad_strategy_configs_are_refused(case, cfg, match):
    with refused(StrategyError, match, case):
        build_strategy(cfg)


def test_a_missing_start_checkpoint_is_refused(tmp_path):
    settings = ALSettings.from_cfg(
        Config(
            dict(
                al=dict(
                    GOOD,
                    train_mode='finetune_from',
                    finetune_from=str(tmp_path / 'nope.pth')))))
    with refused(SplitError, r"al.finetune_from '.*nope.pth' does not exist",
                 'al.finetune_from missing'):
        settings.check_files()
