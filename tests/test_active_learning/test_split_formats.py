"""The peers' split formats: files written as each peer's code writes them
are read, replayed by the loop and written back byte for byte where the
format allows.

The ``*_run`` helpers reproduce each peer's writer calls (file names, key
order, ``json.dump`` / ``np.save`` / ``pickle.dump`` arguments, list
orders); the function of the peer's code each follows is named in its
docstring.
"""
import json
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
from mmengine.config import Config

from mmal.active_learning import ActiveLearningLoop, Pool, SplitError
from mmal.active_learning.split_formats import NameMatcher, build_split_format
from mmal.testing.refusal_table import refused
from .al_helpers import write_config


def _dump(obj, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def _load(path):
    with open(path) as f:
        return json.load(f)


def ppal_run(oracle, out, n_init, budgets, rng):
    """PPAL: ``tools/al_data/create_al_dataset.py``
    (``generate_active_learning_dataset``) writes the initial split,
    ``tools/run_al_voc.py`` (``run``) copies it to round 1 and each round's
    ``new_*`` files to the next round, ``BaseALSampler.create_jsons``
    (``mmdet/ppal/sampler/al_sampler_base.py``) writes them."""
    data = _load(oracle)
    cats = data['categories']
    perm = rng.permutation(len(data['images']))
    lab = [data['images'][i] for i in perm[:n_init]]
    lab_ids = [im['id'] for im in lab]
    init = osp.join(out, 'init')
    _dump(
        dict(
            categories=cats,
            images=lab,
            annotations=[
                a for a in data['annotations'] if a['image_id'] in lab_ids
            ]), osp.join(init, 'voc_5_labeled_1.json'))
    _dump(
        dict(
            categories=cats,
            images=[data['images'][i] for i in perm[n_init:]],
            annotations=[]), osp.join(init, 'voc_5_unlabeled_1.json'))
    oracle_data = {im['id']: [im, []] for im in data['images']}
    for a in data['annotations']:
        oracle_data[a['image_id']][1].append(a)

    def ann(r, name):
        return osp.join(out, 'run', f'round{r}', 'annotations', name)

    os.makedirs(osp.dirname(ann(1, 'x')))
    shutil.copyfile(
        osp.join(init, 'voc_5_labeled_1.json'), ann(1, 'labeled.json'))
    shutil.copyfile(
        osp.join(init, 'voc_5_unlabeled_1.json'), ann(1, 'unlabeled.json'))
    for r, b in enumerate(budgets, 1):
        last = [x['id'] for x in _load(ann(r, 'labeled.json'))['images']]
        rest = [i for i in oracle_data if i not in set(last)]
        sampled = [int(i) for i in rng.choice(rest, b, replace=False)]
        for i in sampled:
            rest.remove(i)
        new_l = dict(images=[], annotations=[], categories=cats)
        new_u = dict(images=[], categories=cats)
        for i in last + sampled:
            new_l['images'].append(oracle_data[i][0])
            new_l['annotations'].extend(oracle_data[i][1])
        for i in rest:
            new_u['images'].append(oracle_data[i][0])
        _dump(new_l, ann(r, 'new_labeled.json'))
        _dump(new_u, ann(r, 'new_unlabeled.json'))
        os.makedirs(osp.dirname(ann(r + 1, 'x')))
        shutil.copyfile(ann(r, 'new_labeled.json'), ann(r + 1, 'labeled.json'))
        shutil.copyfile(
            ann(r, 'new_unlabeled.json'), ann(r + 1, 'unlabeled.json'))
    return osp.join(out, 'run')


def blad_run(full, out, n_init, budgets, rng):
    """BLAD: ``acdet/mining/mining.py`` (``mining``) with
    ``acdet/mining/datasets/coco.py``'s ``coco_load`` (count_box on),
    ``coco_save``, ``coco_combine`` and ``dump_json``; random values sorted
    ascending at step 0, scores sorted descending later."""

    def load(path):
        d = _load(path)
        by_img = {im['id']: [] for im in d['images']}
        for a in d['annotations']:
            if not a.get('is_pseudo_label', False) and a['image_id'] in by_img:
                by_img[a['image_id']].append(a)
        out = []
        for im in d['images']:
            anns = by_img[im['id']]
            small = min(im['width'], im['height']) < 32
            if anns and sum(not small and not a['iscrowd'] for a in anns):
                out.append(dict(info=im, instances=anns))
        return out, {'categories': d['categories']}

    def save(image_set, meta, path, labeled=None):
        coco = dict(meta)
        images, annotations = [], []
        for item in image_set:
            if labeled is not None and not labeled:
                item['info']['partial'] = False
            images.append(item['info'])
            if labeled is not None:
                for a in item['instances']:
                    a['islabeled'] = bool(labeled)
            annotations += item['instances']
        coco['images'], coco['annotations'] = images, annotations
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(json.dumps(coco))

    run = osp.join(out, 'blad')
    pool, meta = load(full)
    values = rng.random(len(pool))
    order = sorted(range(len(pool)), key=lambda i: values[i])
    save([pool[i] for i in order[:n_init]], meta,
         osp.join(run, 'step_0', 'labeled.json'), True)
    save([pool[i] for i in order[n_init:]], meta,
         osp.join(run, 'step_0', 'unlabeled.json'), False)
    for s, b in enumerate(budgets, 1):
        prev = osp.join(run, f'step_{s - 1}')
        lab, meta = load(osp.join(prev, 'labeled.json'))
        unl, _ = load(osp.join(prev, 'unlabeled.json'))
        values = rng.random(len(unl))
        ranked = [
            unl[i] for i in sorted(
                range(len(unl)), key=lambda i: values[i], reverse=True)
        ]
        sel, rem = ranked[:b], ranked[b:]
        save(sel, meta, osp.join(run, f'step_{s}', 'new_added_data.json'))
        save(sel + lab, meta, osp.join(run, f'step_{s}', 'labeled.json'), True)
        save(rem, meta, osp.join(run, f'step_{s}', 'unlabeled.json'), False)
    return run


def miaod_run(lists, out, n_init, budgets, seed):
    """MI-AOD: ``mmdet/utils/active_datasets.py`` (``load_ann_list``,
    ``get_X_L_0``, ``update_X_L``) and ``tools/train.py`` (``np.save`` of
    ``X_L_<k>`` / ``X_U_<k>``), with numpy's global random state."""
    np.random.seed(seed)
    anns = [np.loadtxt(p, dtype='str') for p in lists]
    x_all = np.arange(len(anns[0]) + len(anns[1]))
    np.random.shuffle(x_all)
    x_l, x_u = x_all[:n_init].copy(), x_all[-n_init:].copy()
    x_l.sort()
    x_u.sort()
    x_all = np.arange(len(anns[0]) + len(anns[1]))
    os.makedirs(out)
    np.save(out + '/X_L_' + '0' + '.npy', x_l)
    np.save(out + '/X_U_' + '0' + '.npy', x_u)
    for cycle, b in enumerate(budgets):
        uncertainty = np.random.random(x_all.size)
        all_x_u = np.array(list(set(x_all) - set(x_l)))
        x_s = all_x_u[uncertainty[all_x_u].argsort()[-b:]]
        x_l = np.concatenate((x_l, x_s))
        rest = np.array(list(set(x_all) - set(x_l)))
        np.random.shuffle(rest)
        x_u = rest[:x_l.shape[0]]
        x_l.sort()
        x_u.sort()
        np.save(out + '/X_L_' + str(cycle + 1) + '.npy', x_l)
        np.save(out + '/X_U_' + str(cycle + 1) + '.npy', x_u)
    return out


def bib_run(pool_file, out, budget, cycles, rng):
    """BiB: ``active_strategy/random_sampler.py`` (``_select_uniform``:
    the previous images in dataset order, then the picks) and
    ``active_sampler.py`` (``save_active_list``: ``pickle.dump(...,
    protocol=pickle.HIGHEST_PROTOCOL)`` of pickle5, i.e. 5); the dataset is
    wetectron's ``COCODataset`` (ids sorted)."""
    images = sorted(_load(pool_file)['images'], key=lambda im: im['id'])
    os.makedirs(out)
    names = []
    for c in range(1, cycles + 1):
        active = [
            i for i in range(len(images)) if images[i]['file_name'] in names
        ]
        choices = list(set(range(len(images))) - set(active))
        active = active + list(rng.choice(choices, budget, replace=False))
        names = [images[i]['file_name'] for i in active]
        with open(osp.join(out, f'cycle{c}_{c * budget}_images.pkl'),
                  'wb') as f:
            pickle.dump(names, f, protocol=5)
    return out


def image_lists(tmp_path, pool_file, rng):
    """VOC-style trainval lists (ids without extension) of the pool, split
    in two like VOC2007 + VOC2012, in a shuffled order."""
    stems = [
        osp.splitext(im['file_name'])[0] for im in _load(pool_file)['images']
    ]
    stems = [stems[i] for i in rng.permutation(len(stems))]
    paths = []
    for name, part in (('07', stems[:25]), ('12', stems[25:])):
        path = tmp_path / f'trainval_{name}.txt'
        path.write_text(''.join(s + '\n' for s in part))
        paths.append(str(path))
    return paths


def files_under(root):
    out = {}
    for folder, _, names in os.walk(root):
        for n in names:
            path = osp.join(folder, n)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


@pytest.fixture
def pool_file(al_data):
    return osp.join(al_data, 'annotations', 'instances_train.json')


def make_peer(fmt, pool_file, tmp_path):
    """A peer run with 10 initial images (BiB: none) and 2 acquisitions of
    5; returns (source folder, format config)."""
    rng = np.random.default_rng(7)
    out = str(tmp_path / fmt)
    if fmt == 'ppal':
        return ppal_run(pool_file, out, 10, [5, 5], rng), dict(type='ppal')
    if fmt == 'blad':
        return blad_run(pool_file, out, 10, [5, 5], rng), dict(type='blad')
    if fmt == 'mi-aod':
        lists = image_lists(tmp_path, pool_file, rng)
        return miaod_run(lists, out, 10, [5, 5], 3), dict(
            type='mi-aod', image_lists=lists)
    return bib_run(pool_file, out, 5, 3, rng), dict(type='bib')


@pytest.mark.parametrize('fmt', ['ppal', 'blad', 'mi-aod', 'bib'])
def test_peer_files_read_and_write_back_byte_for_byte(fmt, pool_file,
                                                      tmp_path):
    source, fmt_cfg = make_peer(fmt, pool_file, tmp_path)
    split_format = build_split_format(fmt_cfg)
    history = split_format.read(source)
    assert sorted(history) == ([1, 2, 3] if fmt == 'bib' else [0, 1, 2])
    for k in sorted(history)[1:]:
        assert len(history[k].picks) == 5
        assert set(history[k].labeled) == set(history[k - 1].labeled) | set(
            history[k].picks)
    out = tmp_path / 'back'
    written = split_format.write(history, Pool(pool_file), str(out))
    peer = files_under(source)
    back = files_under(out)
    assert len(written) == len(back) and set(back) <= set(peer)
    for name, content in back.items():
        assert content == peer[name], name
    # every file of the peer's layout is written (PPAL: the initial
    # split's own copies live outside the run folder)
    assert set(back) == set(peer)


def _loop(al_data, tmp_path, fmt_cfg, source, budget=5, name='run'):
    opts = {k: v for k, v in fmt_cfg.items() if k != 'type'}
    path = write_config(
        tmp_path / f'{name}.py',
        al_data,
        al=dict(
            num_cycles=3,
            budget=budget,
            initial=dict(
                _delete_=True,
                split_file=source,
                format=fmt_cfg['type'],
                **opts),
            strategy=dict(
                type='replay',
                source=source,
                format=fmt_cfg['type'],
                format_options=opts)))
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / name)
    return ActiveLearningLoop(cfg, progress=False), path


#: files a round trip through an mmal work dir cannot give back: their
#: order (or, MI-AOD's X_U, their subset) is the peer's random draw
NOT_EXACT = {
    'ppal': {'round1/annotations/unlabeled.json'},
    'blad': {f'step_{k}/unlabeled.json'
             for k in range(3)},
    'mi-aod': {f'X_U_{k}.npy'
               for k in range(3)},
}


@pytest.mark.parametrize('fmt', ['ppal', 'blad', 'mi-aod'])
def test_loop_replays_a_peer_run_and_exports_it_back(fmt, al_data, pool_file,
                                                     tmp_path):
    """The initial split and both acquisitions of a peer run go through the
    loop (replay needs no detector pass, so no training is needed to
    acquire) and the work dir exports back to the peer's files."""
    source, fmt_cfg = make_peer(fmt, pool_file, tmp_path)
    loop, cfg_file = _loop(al_data, tmp_path, fmt_cfg, source)
    with loop.locked():
        loop._initial_split()
    for k in range(2):
        loop.acquire(k, cfg_file)  # any file stands for the checkpoint
    history = build_split_format(fmt_cfg).read(source)
    work = build_split_format('mmal').read(loop.work_dir)

    def ids(names):  # MI-AOD records VOC ids, the pool file names
        return NameMatcher.of_pool(loop.pool).ids(names, 'test').tolist()

    assert ids(work[0].labeled) == ids(history[0].labeled)  # peer's order
    for k in range(3):
        assert set(ids(work[k].labeled)) == set(ids(history[k].labeled))
    for k in (1, 2):
        assert ids(work[k].picks) == ids(history[k].picks)  # pick order
    sel = _load(osp.join(loop.work_dir, 'cycle_2', 'selected.json'))
    assert sel['strategy']['type'] == 'replay'
    assert sel['details']['replayed_from'] == history[2].file
    out = tmp_path / 'export'
    build_split_format(fmt_cfg).write(work, loop.pool, str(out))
    peer, back = files_under(source), files_under(out)
    assert set(back) == set(peer)
    exact = {n for n in back if back[n] == peer[n]}
    assert set(back) - NOT_EXACT[fmt] <= exact
    if fmt != 'ppal':
        return
    # the command line does the same
    tool = _tool()
    opts = [
        '--options', *(f'{k}={v}' for k, v in fmt_cfg.items() if k != 'type')
    ] if len(fmt_cfg) > 1 else []
    cli = tmp_path / 'cli'
    assert tool.main([
        'export', loop.work_dir, '--format', fmt, '--out',
        str(cli), '--config', cfg_file, *opts
    ]) == 0
    assert files_under(cli) == back
    init = tmp_path / 'init.json'
    assert tool.main([
        'import', cfg_file, history[0].file, '--format', fmt, '--out',
        str(init), *opts
    ]) == 0
    assert [im['id'] for im in _load(init)['images']
            ] == sorted(ids(history[0].labeled))
    assert tool.main([
        'export', loop.work_dir, '--format', 'nope', '--out',
        str(tmp_path / 'no')
    ]) == 2
    assert not osp.exists(tmp_path / 'no')


def _tool():
    import importlib.util

    from .al_helpers import REPO
    path = osp.join(REPO, 'tools', 'misc', 'convert_splits.py')
    spec = importlib.util.spec_from_file_location('convert_splits', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replay_refuses_a_missing_cycle_and_a_wrong_budget(
        al_data, pool_file, tmp_path):
    from mmal.strategies import StrategyError
    source, fmt_cfg = make_peer('blad', pool_file, tmp_path)
    shutil.rmtree(osp.join(source, 'step_2'))
    loop, cfg_file = _loop(al_data, tmp_path, fmt_cfg, source)
    with loop.locked():
        loop._initial_split()
    loop.acquire(0, cfg_file)
    with refused(StrategyError, r'no recorded picks for cycle 2 .*step_2',
                 'replay: no recorded picks for a cycle'):
        loop.acquire(1, cfg_file)
    assert not osp.exists(loop.files.cycle(2).selected)
    loop, cfg_file = _loop(al_data, tmp_path, fmt_cfg, source, 6, 'six')
    with loop.locked():
        loop._initial_split()
    with refused(StrategyError, r'5 picks recorded for cycle 1 .* budget '
                 r'asks for 6', 'replay: picks fewer than the budget'):
        loop.acquire(0, cfg_file)
    assert not osp.exists(loop.files.cycle(1).path)


def test_initial_split_with_unknown_file_names_is_refused(
        al_data, pool_file, tmp_path):
    source, fmt_cfg = make_peer('bib', pool_file, tmp_path)
    path = osp.join(source, 'cycle1_5_images.pkl')
    with open(path, 'rb') as f:
        names = pickle.load(f)
    with open(path, 'wb') as f:
        pickle.dump(names[:3] + ['nope.jpg', 'gone.png'], f, protocol=5)
    cfg = Config.fromfile(
        write_config(
            tmp_path / 'cfg.py',
            al_data,
            al=dict(
                initial=dict(_delete_=True, split_file=path, format='bib'),
                strategy=dict(type='u-random'))))
    cfg.work_dir = str(tmp_path / 'work')
    with refused(
            SplitError, r"2 of 5 file names are not images of the pool .*"
            r"\['nope.jpg', 'gone.png'\]",
            'al.initial.split_file (peer format) with unknown file names'):
        ActiveLearningLoop(cfg)
    assert not osp.exists(cfg.work_dir)


def test_bib_list_with_a_global_is_refused(tmp_path):

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo pwned', ))

    path = tmp_path / 'cycle1_1_images.pkl'
    path.write_bytes(pickle.dumps([Evil()], protocol=5))
    with refused(SplitError, r'refusing to load global (posix|os)\.system',
                 'BiB list pickle holding a global'):
        build_split_format('bib').read(str(tmp_path))


def test_replay_picks_must_be_unlabeled_pool_images():
    from mmal.apis import select_images
    from mmal.strategies import StrategyError
    det = {i: {} for i in range(10, 20)}
    cfg = dict(type='replay', picks={1: [11, 12, 3]})
    with refused(
            StrategyError, r'1 of the 3 picks of cycle 1 .* not '
            r'unlabeled pool images, e.g. \[3\] \(1 are labeled',
            'replay: picks not unlabeled pool images'):
        select_images(cfg, det, 3, labeled=[3])
    sel = select_images(dict(type='replay', picks={1: [17, 11]}), det, 2)
    assert sel.ids.tolist() == [17, 11]  # the recorded order


def test_name_matcher_levels_and_ambiguity():
    m = NameMatcher({
        1: 'VOC2007/JPEGImages/000005.jpg',
        2: 'a/x.png',
        3: 'b/x.png'
    })
    for name in ('VOC2007/JPEGImages/000005.jpg', '000005.jpg', '000005'):
        assert m.ids([name], 'w').tolist() == [1]
    with pytest.raises(SplitError, match='repeat'):
        m.ids(['000005.jpg', '000005'], 'w')
    assert m.ids(['a/x.png'], 'w').tolist() == [2]
    with pytest.raises(
            SplitError,
            match=r"1 of 1 file names are not images of the "
            r"pool: 1 match several, e.g. \['x.png'\]"):
        m.ids(['x.png'], 'w')
