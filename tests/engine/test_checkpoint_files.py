"""Checkpoint files: atomic writes, symlink and special-file targets, partial-write cleanup, resume choice."""

import os
import os.path as osp

import pytest
import torch

from mcf_mm.engine.checkpoint_io import (
    PARTIAL_SUFFIX,
    atomic_write,
    find_resumable_checkpoint,
    is_complete_checkpoint,
    remove_partial_writes,
    save_checkpoint_file,
    write_text_file,
)


def save(path, value: float) -> str:
    save_checkpoint_file({'state_dict': {'w': torch.full((4,), value)}}, str(path))
    return str(path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = save(tmp_path / 'epoch_1.pth', 1.0)
    os.chmod(target, 0o640)

    def killed(*args):
        raise KeyboardInterrupt('killed while writing')

    monkeypatch.setattr(os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        save(target, 2.0)
    monkeypatch.undo()
    assert torch.equal(torch.load(target, weights_only=True)['state_dict']['w'], torch.ones(4))
    assert os.listdir(tmp_path) == ['epoch_1.pth']
    save(target, 3.0)
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o640)  # a replaced file keeps its permissions


def test_symlink_and_special_targets_are_never_replaced(tmp_path):
    real = save(tmp_path / 'real.pth', 1.0)
    link = tmp_path / 'epoch_1.pth'
    link.symlink_to(real)
    save(link, 2.0)
    assert link.is_symlink() and os.readlink(link) == real  # the link is kept, its target updated
    assert torch.load(real, weights_only=True)['state_dict']['w'][0] == 2.0
    null_link = tmp_path / 'last_checkpoint'
    null_link.symlink_to('/dev/null')
    write_text_file('epoch_1.pth', str(null_link))
    assert null_link.is_symlink() and os.readlink(null_link) == '/dev/null'
    assert osp.exists('/dev/null') and not osp.isfile('/dev/null')  # written in place, not renamed over
    assert not [n for n in os.listdir(tmp_path) if n.endswith(PARTIAL_SUFFIX)]


def test_partial_writes_are_found_and_removed(tmp_path):
    good = save(tmp_path / 'epoch_2.pth', 1.0)
    data = open(good, 'rb').read()
    partial = tmp_path / f'.epoch_3.pth.x1y2{PARTIAL_SUFFIX}'
    partial.write_bytes(data[: len(data) // 2])
    user_file = tmp_path / '.notes.tmp'
    user_file.write_text('not ours')
    assert is_complete_checkpoint(good)
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        (tmp_path / 'cut.pth').write_bytes(data[:cut])
        assert not is_complete_checkpoint(str(tmp_path / 'cut.pth')), cut
    assert remove_partial_writes(str(tmp_path)) == [str(partial)]
    assert user_file.exists() and not partial.exists()


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    work = str(tmp_path)
    e1, e2 = save(tmp_path / 'epoch_1.pth', 1.0), save(tmp_path / 'epoch_2.pth', 2.0)
    pick = lambda: find_resumable_checkpoint(work, work, 'epoch_{}.pth')  # noqa: E731
    assert pick() == e2  # no last_checkpoint at all
    write_text_file(e1, osp.join(work, 'last_checkpoint'))
    assert pick() == e2  # last_checkpoint older than a complete checkpoint (killed before updating it)
    data = open(e2, 'rb').read()
    (tmp_path / 'epoch_3.pth').write_bytes(data[: len(data) // 3])  # truncated (not written by us)
    write_text_file(str(tmp_path / 'epoch_3.pth'), osp.join(work, 'last_checkpoint'))
    assert pick() == e2
    (tmp_path / 'last_checkpoint').write_text('')
    assert pick() == e2
    os.remove(e2)
    os.remove(tmp_path / 'epoch_3.pth')
    write_text_file(e2, osp.join(work, 'last_checkpoint'))  # points at a deleted file
    assert pick() == e1
    own = save(tmp_path / 'my_name.pth', 5.0)
    write_text_file(own, osp.join(work, 'last_checkpoint'))
    assert pick() == own  # a complete file under a user's own name is trusted
    os.remove(e1)
    os.remove(own)
    assert pick() is None


def test_atomic_write_of_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write(str(tmp_path / 'sub' / 'x.bin'), lambda f: f.write(b'abc'))
    finally:
        os.umask(umask)
    assert open(path, 'rb').read() == b'abc' and oct(os.stat(path).st_mode & 0o777) == oct(0o644)
