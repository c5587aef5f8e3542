"""One real annotation round trip through a Label Studio server.

    python tools/misc/label_studio_round_trip.py --out /tmp/ls-round-trip \\
        [--venv /tmp/ls-venv] [--port 8093]

1. Installs Label Studio from PyPI into its own virtual environment
   (``--venv``, outside mmal's: it pins its own numpy, opencv, Django)
   unless ``<venv>/bin/label-studio`` exists.
2. Makes the toy data, a 2-cycle least-confidence loop whose oracle is a
   ``ManualOracle`` exporting Label Studio tasks with Label Studio's
   local-files references, and runs ``tools/al_train.py`` until it stops
   for annotations (exit status 3) with ``cycle_1/label_studio_tasks.json``
   and ``cycle_1/label_studio_config.xml``.
3. Starts the server on 127.0.0.1, creates a user, a project with the
   labeling config and a local-files storage of the image folder, imports
   the tasks (with the model's detections as predictions), and, as an
   annotator, submits one annotation per task through the REST API: the
   toy ground-truth boxes of the image, so that the loop learns from true
   labels.
4. Exports the project as Label Studio JSON into ``cycle_1/annotated.json``
   (and as COCO, kept next to it for the record), stops the server, and
   re-runs ``tools/al_train.py``, which reads the export and trains and
   evaluates cycle 1.

Writes ``<out>/round_trip.json`` (steps, timings, counts). The test suite
does not run this (it needs the server); the format tests use files shaped
as the server writes them.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import zipfile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

USER = 'annotator@example.com'
PASSWORD = 'mmal-round-trip'
TOKEN = 'mmalroundtriptoken0123456789'


def log(msg: str) -> None:
    print(f'[round trip {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def install(venv: str) -> float:
    """Label Studio in its own venv; returns the seconds it took."""
    exe = osp.join(venv, 'bin', 'label-studio')
    if osp.exists(exe):
        log(f'{exe} exists: not installing')
        return 0.0
    t0 = time.time()
    subprocess.run(['python3', '-m', 'venv', venv], check=True)
    pip = osp.join(venv, 'bin', 'pip')
    subprocess.run([pip, 'install', '-q', '--upgrade', 'pip'], check=True)
    subprocess.run([pip, 'install', 'label-studio'], check=True)
    return time.time() - t0


def write_config(path: str, data_root: str, split_file: str) -> str:
    root = data_root.rstrip('/') + '/'
    base = osp.join(REPO, 'configs', 'least-confidence',
                    'faster-rcnn_r18_fpn_least-confidence_toy.py')
    text = f'''
    _base_ = {base!r}
    data_root = {root!r}
    toy_data = dict(num_train=40, num_val=8, seed=0)
    train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
    val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
    test_dataloader = val_dataloader
    val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
    test_evaluator = val_evaluator
    train_cfg = dict(max_epochs=2, val_interval=2)
    param_scheduler = [
        dict(type='FractionalMultiStepLR', by_epoch=True, begin=0, end=2,
             milestones=[2 * 2 / 3], gamma=0.1, convert_to_iter_based=True)
    ]
    model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))
    log_level = 'WARNING'
    al = dict(
        num_cycles=2,
        initial=dict(_delete_=True, split_file={split_file!r}),
        budget=10,
        oracle=dict(
            type='ManualOracle',
            export=dict(type='LabelStudioFormat'),
            images=dict(kind='label_studio_local_files',
                        document_root=data_root),
            min_score=0.05))
    '''
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


def al_train(config: str, work: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO)
    env.setdefault('OMP_NUM_THREADS', '2')
    t0 = time.time()
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'al_train.py'), config, '--work-dir', work
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          cwd=REPO)
    proc.seconds = time.time() - t0
    return proc


class Api:
    """The server's REST API with a legacy token (no SDK)."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip('/')
        self.headers = {'Authorization': f'Token {token}'}

    def call(self, method: str, path: str, body=None, raw: bool = False):
        data = None
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(
            self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                payload = r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f'{method} {path}: HTTP {e.code}: '
                               f'{e.read()[:2000]!r}') from None
        return payload if raw else json.loads(payload or b'null')


def start_server(venv: str, data_dir: str, doc_root: str, port: int,
                 log_file: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        LOCAL_FILES_SERVING_ENABLED='true',
        LOCAL_FILES_DOCUMENT_ROOT=doc_root,
        LATEST_VERSION_CHECK='false',
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK='false')
    cmd = [
        osp.join(venv, 'bin', 'label-studio'), 'start', '--data-dir', data_dir,
        '--internal-host', '127.0.0.1', '--port',
        str(port), '--username', USER, '--password', PASSWORD, '--user-token',
        TOKEN, '--enable-legacy-api-token'
    ]
    log('starting: ' + ' '.join(cmd))
    out = open(log_file, 'w')
    return subprocess.Popen(
        cmd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True)


def wait_for(api: Api, server: subprocess.Popen, timeout: float) -> float:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if server.poll() is not None:
            raise RuntimeError(f'the server exited ({server.returncode})')
        try:
            api.call('GET', '/api/projects')
            return time.time() - t0
        except (OSError, RuntimeError):
            time.sleep(3)
    raise RuntimeError(f'the server did not answer within {timeout} s')


def annotation_result(anns, img, from_name='label', to_name='image'):
    """The toy ground truth of an image as an annotator's result."""
    W, H = img['width'], img['height']
    out = []
    for n, (label, (x, y, w, h)) in enumerate(anns):
        out.append(
            dict(
                id=f'gt{n}',
                type='rectanglelabels',
                from_name=from_name,
                to_name=to_name,
                original_width=W,
                original_height=H,
                image_rotation=0,
                origin='manual',
                value=dict(
                    x=100.0 * x / W,
                    y=100.0 * y / H,
                    width=100.0 * w / W,
                    height=100.0 * h / H,
                    rotation=0,
                    rectanglelabels=[label])))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='/tmp/ls-round-trip')
    parser.add_argument('--venv', default='/tmp/ls-venv')
    parser.add_argument('--port', type=int, default=8093)
    parser.add_argument('--server-timeout', type=float, default=3600)
    args = parser.parse_args()
    out = osp.abspath(args.out)
    # Re-running resumes: the loop skips its finished steps and asks again,
    # the server keeps its (migrated) database.
    os.makedirs(out, exist_ok=True)
    report = dict(steps=[])

    def step(name, **kw):
        report['steps'].append(dict(name=name, **kw))
        log(f'{name}: {kw}')
        with open(osp.join(out, 'round_trip.json'), 'w') as f:
            json.dump(report, f, indent=1)

    step('install', seconds=round(install(args.venv), 1), venv=args.venv)
    version = subprocess.run(
        [osp.join(args.venv, 'bin', 'pip'), 'show', 'label-studio'],
        capture_output=True,
        text=True).stdout.split('\n')[1]
    report['label_studio'] = version

    from mmal.active_learning.pool import Pool
    from mmal.testing import make_toy_benchmark
    data_root = osp.join(out, 'toy')
    if not osp.exists(osp.join(data_root, 'annotations')):
        make_toy_benchmark(
            data_root, num_train=40, num_val=8, num_classes=6, seed=0)
    pool = Pool(osp.join(data_root, 'annotations', 'instances_train.json'))
    split_file = osp.join(out, 'initial.json')
    with open(split_file, 'w') as f:
        json.dump(pool.subset(pool.ids[:10], pool.anns_by_image), f)
    config = write_config(osp.join(out, 'cfg.py'), data_root, split_file)
    work = osp.join(out, 'work')
    answer = osp.join(work, 'cycle_1', 'annotated.json')
    if osp.exists(answer) and not osp.exists(
            osp.join(work, 'cycle_1', 'labeled.json')):
        os.unlink(answer)  # an earlier try's, not read yet

    proc = al_train(config, work)
    step(
        'loop until annotations are needed',
        returncode=proc.returncode,
        seconds=round(proc.seconds, 1),
        message=proc.stderr.strip().splitlines()[-1]
        if proc.stderr.strip() else '')
    if proc.returncode != 3:
        raise SystemExit(f'al_train.py: expected exit 3, got '
                         f'{proc.returncode}:\n{proc.stderr[-4000:]}')
    cycle = osp.join(work, 'cycle_1')
    with open(osp.join(cycle, 'label_studio_tasks.json')) as f:
        tasks = json.load(f)
    with open(osp.join(cycle, 'label_studio_config.xml')) as f:
        label_config = f.read()
    npred = sum(
        len(p['result']) for t in tasks for p in t.get('predictions', []))
    step('request written', tasks=len(tasks), predicted_boxes=npred)

    server = start_server(args.venv, osp.join(out, 'ls-data'), data_root,
                          args.port, osp.join(out, 'label_studio.log'))
    try:
        api = Api(f'http://127.0.0.1:{args.port}', TOKEN)
        step(
            'server up',
            seconds=round(wait_for(api, server, args.server_timeout), 1))
        project = api.call(
            'POST', '/api/projects',
            dict(title='mmal cycle 1', label_config=label_config))
        pid = project['id']
        api.call(
            'POST', '/api/storages/localfiles',
            dict(
                project=pid,
                title='toy images',
                path=osp.join(data_root, 'train'),
                use_blob_urls=True))
        imported = api.call('POST', f'/api/projects/{pid}/import', tasks)
        step(
            'project and tasks',
            project=pid,
            imported=imported.get('task_count'),
            predictions=imported.get('prediction_count'))
        listed = api.call('GET', f'/api/tasks?project={pid}&page_size=1000')
        listed = listed['tasks'] if isinstance(listed, dict) else listed
        image = api.call('GET', listed[0]['data']['image'], raw=True)
        step(
            'image served through local files',
            bytes=len(image),
            png=image[:4] == b'\x89PNG')
        names = {c['id']: c['name'] for c in pool.categories}
        boxes = 0
        for task in listed:
            img = pool.images[int(task['data']['mmal_image_id'])]
            anns = [(names[a['category_id']], a['bbox'])
                    for a in pool.anns_by_image[img['id']]]
            api.call(
                'POST', f'/api/tasks/{task["id"]}/annotations',
                dict(
                    result=annotation_result(anns, img),
                    was_cancelled=False,
                    lead_time=3.0))
            boxes += len(anns)
        step('annotations submitted', tasks=len(listed), boxes=boxes)
        export = api.call(
            'GET', f'/api/projects/{pid}/export?exportType=JSON', raw=True)
        with open(osp.join(cycle, 'annotated.json'), 'wb') as f:
            f.write(export)
        coco = api.call(
            'GET', f'/api/projects/{pid}/export?exportType=COCO', raw=True)
        coco_path = osp.join(out, 'label_studio_coco_export.zip')
        with open(coco_path, 'wb') as f:
            f.write(coco)
        members = zipfile.ZipFile(coco_path).namelist()
        step('exported', json_bytes=len(export), coco_zip=members)
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    proc = al_train(config, work)
    tail = proc.stderr.strip().splitlines()[-1:] if proc.returncode else []
    step(
        'loop continues with the export',
        returncode=proc.returncode,
        seconds=round(proc.seconds, 1),
        error=tail)
    if proc.returncode:
        raise SystemExit(proc.stderr[-4000:])
    with open(osp.join(work, 'results.json')) as f:
        rows = json.load(f)['cycles']
    step(
        'results',
        cycles=[
            dict(
                cycle=r.get('cycle'),
                labeled_images=r.get('labeled_images'),
                labeled_boxes=r.get('labeled_boxes'),
                bbox_AP=r.get('bbox_AP')) for r in rows
        ])


if __name__ == '__main__':
    main()
