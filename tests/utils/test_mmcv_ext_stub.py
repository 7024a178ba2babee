"""The install-time mmcv._ext stand-in, on a fake mmcv-lite installation (the real one is never touched here)."""

import importlib.machinery
import importlib.metadata
import importlib.util
import os
import subprocess
import sys

import pytest

from mcf_mm.utils import mmcv_ext_stub as stub


def fake_site(root, dist: str = 'mmcv-lite'):
    """site/mmcv/__init__.py plus a dist-info with METADATA and RECORD, as pip leaves them."""
    site = root / 'site'
    (site / 'mmcv').mkdir(parents=True)
    (site / 'mmcv' / '__init__.py').write_text('')
    info = site / f'{dist.replace("-", "_")}-2.1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: 2.1.0\n')
    (info / 'RECORD').write_text(f'mmcv/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n')
    return site, info / 'RECORD'


@pytest.fixture
def fake(tmp_path, monkeypatch):
    site, record = fake_site(tmp_path)

    def distribution(name):
        return next(iter(importlib.metadata.Distribution.discover(name=name, path=[str(site)])), None)

    monkeypatch.setattr(stub, 'mmcv_dir', lambda: str(site / 'mmcv'))
    monkeypatch.setattr(stub, '_distribution', distribution)
    return site, record


def load(path):
    spec = importlib.util.spec_from_file_location('fake_mmcv_ext', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_is_idempotent_registered_with_pip_and_reversible(fake):
    site, record = fake
    path = site / 'mmcv' / '_ext.py'
    assert stub.status() == 'missing'
    assert 'installed' in stub.install() and stub.status() == 'stub'
    first = (path.read_bytes(), os.stat(path).st_mtime_ns)
    assert 'already installed' in stub.install()
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == first  # untouched the second time
    assert record.read_text().splitlines().count('mmcv/_ext.py,,') == 1  # pip uninstall mmcv-lite removes it
    assert 'removed' in stub.uninstall() and not path.exists() and stub.status() == 'missing'
    assert 'mmcv/_ext.py,,' not in record.read_text()
    assert 'nothing to do' in stub.uninstall()


def test_an_older_stand_in_is_refreshed_and_a_foreign_file_is_never_overwritten(fake):
    site, _ = fake
    path = site / 'mmcv' / '_ext.py'
    path.write_text(stub.MARKER + '\n# an older version\n')
    assert 'installed' in stub.install() and path.read_text() == stub.STUB_SOURCE
    path.write_text('# somebody else\n')
    assert stub.status() == 'foreign'
    with pytest.raises(RuntimeError, match='not written by mcf_mm'):
        stub.install()
    assert path.read_text() == '# somebody else\n'
    assert 'nothing to do' in stub.uninstall() and path.exists()


def test_no_op_with_compiled_ops_or_full_mmcv(fake, tmp_path, monkeypatch):
    site, _ = fake
    compiled = site / 'mmcv' / ('_ext' + importlib.machinery.EXTENSION_SUFFIXES[0])
    compiled.write_bytes(b'\x7fELF')
    assert stub.status() == 'compiled' and 'compiled ops' in stub.install()
    assert not (site / 'mmcv' / '_ext.py').exists()
    compiled.unlink()
    full, _ = fake_site(tmp_path / 'full', dist='mmcv')
    monkeypatch.setattr(
        stub,
        '_distribution',
        lambda name: importlib.metadata.Distribution.at(next(full.glob('*.dist-info'))) if name == 'mmcv' else None,
    )
    assert 'full mmcv' in stub.install() and not (site / 'mmcv' / '_ext.py').exists()


def test_the_stand_in_passes_mmcv_ops_hasattr_checks_and_names_the_op(fake):
    site, _ = fake
    stub.install()
    ext = load(site / 'mmcv' / '_ext.py')
    assert hasattr(ext, 'nms') and hasattr(ext, 'deform_conv_forward')  # what mmcv's load_ext asserts
    assert not hasattr(ext, '__path__')  # dunders stay absent: importlib and pickle see a plain module
    with pytest.raises(NotImplementedError, match=r'`roi_align_forward` is unavailable: mmcv-lite') as err:
        ext.roi_align_forward(1, 2)
    assert 'pip install' in str(err.value) and ext.roi_align_forward.__name__ == 'roi_align_forward'


@pytest.mark.slow
def test_command_line(tmp_path, repo_root):
    site, _ = fake_site(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), repo_root]))
    cmd = [sys.executable, '-m', 'mcf_mm.utils.mmcv_ext_stub']
    outs = [
        subprocess.run(cmd + [action], env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
        for action in ('status', 'install', 'status')
    ]
    assert all(o.returncode == 0 for o in outs), outs[-1].stderr[-2000:]
    assert [o.stdout.strip().splitlines()[-1] for o in outs[::2]] == ['missing', 'stub']
    assert str(site / 'mmcv' / '_ext.py') in outs[1].stdout
