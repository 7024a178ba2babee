"""pytest fixtures over the shared test material in ``mcf_fixtures`` (tiny ViTs, bundled faces, tiny configs)."""

import os
import sys
import warnings

import pytest

from mcf_fixtures.tiny import REPO, TINY_ARCH, save_tiny_teacher, tiny_overrides, write_faces  # noqa: F401

warnings.filterwarnings('ignore', category=DeprecationWarning)


def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '2')


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def python_exe() -> str:
    return sys.executable


@pytest.fixture(scope='session')
def tiny_teacher(tmp_path_factory) -> str:
    return save_tiny_teacher(str(tmp_path_factory.mktemp('teacher') / 'teacher.pth'))


@pytest.fixture
def face_folder(tmp_path) -> str:
    folder = str(tmp_path / 'faces')
    write_faces(folder)
    return folder


@pytest.fixture
def tiny_config(tmp_path, tiny_teacher, face_folder):
    """Factory: write a tiny MCF config file and return its path."""

    def make(name: str = 'tiny.py', **kwargs) -> str:
        path = tmp_path / name
        path.write_text(tiny_overrides(tiny_teacher, kwargs.pop('data_root', face_folder), **kwargs))
        return str(path)

    return make
