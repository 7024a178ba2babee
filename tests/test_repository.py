"""The repository stands on its own: no file points outside it, and no default reaches outside the clone."""

import os
import os.path as osp

from mcf_fixtures.tiny import REPO

SKIP_DIRS = {'.git', '.venv', 'work_dirs', 'data', 'checkpoints', '__pycache__'}
# spelled in pieces so that this file does not match itself
FORBIDDEN = ('../' + 'shared', 'METHOD' + '.md', 'ENV' + '.md', 'ARCHITECTURE' + '.md')


def _text_files():
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith('.egg-info')]
        for name in files:
            if name.endswith(('.py', '.md', '.sh', '.yml', '.yaml', '.txt', '.ini', '.toml', '.cfg')) or name == 'run':
                yield osp.join(root, name)


def test_no_file_refers_to_notes_or_data_outside_the_repository():
    hits = []
    for path in _text_files():
        with open(path, encoding='utf-8', errors='replace') as f:
            for no, line in enumerate(f, 1):
                hits += [f'{osp.relpath(path, REPO)}:{no}: {word}' for word in FORBIDDEN if word in line]
    assert not hits, 'files refer outside the repository:\n' + '\n'.join(hits)


def test_the_scan_sees_the_tree():
    names = {osp.relpath(p, REPO) for p in _text_files()}
    assert {'README.md', 'pytest.ini', osp.join('mcf_mm', 'registry.py'), osp.join('docs', 'README.md')} <= names
