"""The model zoo index: model-index.yml imports every metafile, every config has one entry, Weights are a URL or
null, Results hold only numbers written in the READMEs, and the build packages the .mim layout mim reads."""

import glob
import os.path as osp
import re
import subprocess
import sys

import pytest
import yaml

from mcf_fixtures.tiny import REPO

# configs that are not models of their own: the alias of the MCF recipe
ALIASES = {'configs/mcf/pretrain.py'}
URL = re.compile(r'^https?://\S+\.pth$')


def _load(path: str) -> dict:
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def _metafiles() -> list:
    paths = glob.glob(osp.join(REPO, 'configs', '**', 'metafile.yml'), recursive=True)
    return sorted(osp.relpath(p, REPO) for p in paths)


def _models() -> list:
    return [(meta, model) for meta in _metafiles() for model in _load(meta).get('Models', [])]


def _model_configs() -> set:
    found = set()
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True):
        rel = osp.relpath(path, REPO)
        if '_base_' in rel.split(osp.sep) or osp.basename(rel).startswith('_') or rel in ALIASES:
            continue
        found.add(rel)
    return found


def test_the_index_imports_every_metafile():
    assert sorted(_load('model-index.yml')['Import']) == _metafiles()


def test_every_config_has_exactly_one_entry_and_entries_name_real_configs():
    listed = [model['Config'] for _, model in _models()]
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    missing = sorted(_model_configs() - set(listed))
    assert not missing, "configs without a model-zoo entry (add them to their folder's metafile.yml): " + str(missing)
    assert set(listed) <= _model_configs(), sorted(set(listed) - _model_configs())
    names = [model['Name'] for _, model in _models()]
    assert len(names) == len(set(names))
    for _, model in _models():
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


def test_collections_weights_and_results():
    for meta in _metafiles():
        data = _load(meta)
        collections = {c['Name']: c for c in data['Collections']}
        for c in collections.values():
            assert osp.isfile(osp.join(REPO, c['README'])), c['README']
        readmes = {name: open(osp.join(REPO, c['README'])).read() for name, c in collections.items()}
        top = open(osp.join(REPO, 'README.md')).read()
        for model in data['Models']:
            assert model['In Collection'] in collections, (meta, model['Name'])
            assert 'Weights' in model, f'{model["Name"]}: state Weights (a URL or null)'
            assert model['Weights'] is None or URL.match(model['Weights']), model['Weights']
            for result in model.get('Results') or []:
                assert {'Task', 'Dataset', 'Metrics'} <= set(result)
                for name, value in result['Metrics'].items():
                    assert isinstance(value, (int, float)), (model['Name'], name, value)
                    # a measured number is written in the collection README or README.md, with its command
                    text = readmes[model['In Collection']] + top
                    assert str(value) in text, f'{model["Name"]}: {name} = {value} is in no README'


def test_mim_parses_the_index():
    modelindex = pytest.importorskip('modelindex.load_model_index')
    index = modelindex.load(osp.join(REPO, 'model-index.yml'))
    assert {m.config for m in index.models} == _model_configs()


@pytest.mark.slow
def test_build_packages_the_mim_layout(tmp_path):
    build = tmp_path / 'lib'
    subprocess.run(
        [sys.executable, 'setup.py', '-q', 'build_py', '--build-lib', str(build)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    mim = build / 'mcf_mm' / '.mim'
    assert (mim / 'model-index.yml').read_text() == open(osp.join(REPO, 'model-index.yml')).read()
    for tool in ('train.py', 'test.py'):
        assert (mim / 'tools' / tool).is_file()
    for meta, model in _models():
        assert (mim / meta).is_file() and (mim / model['Config']).is_file()
    assert not list(mim.rglob('__pycache__'))
