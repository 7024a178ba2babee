"""Checkpoints of the wrong kind fail with a message naming what was found (and the fix)."""

import pytest
import torch
from torch import nn

import mcf_mm  # noqa: F401
from mcf_fixtures.foreign_vits import ClipViT, TimmViT, Transformer
from mcf_mm.checkpoint import CheckpointFormatError, UnsafeCheckpointError, load_vit_weights, read_checkpoint
from mcf_mm.models.backbones import FaceViT
from mcf_mm.models.target_generators import FrozenViTTeacher

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128)


def vit() -> FaceViT:
    return FaceViT(arch=ARCH, img_size=32, patch_size=8)


def save(obj, tmp_path, name='ckpt.pth') -> str:
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def test_resnet_is_named(tmp_path):
    from mmpretrain.models.backbones import ResNet

    resnet = ResNet(depth=18, base_channels=8, stem_channels=8)
    path = save({'state_dict': {'backbone.' + k: v for k, v in resnet.state_dict().items()}}, tmp_path)
    with pytest.raises(CheckpointFormatError, match='ResNet-style CNN'):
        load_vit_weights(vit(), path)
    with pytest.raises(CheckpointFormatError, match='ResNet-style CNN'):
        FrozenViTTeacher(path)


def test_text_only_model_is_named(tmp_path):
    text = Transformer(width=16, layers=2, heads=2)
    sd = {k: v for k, v in text.state_dict().items()}
    sd = {'transformer.' + k: v for k, v in sd.items()}
    sd.update(
        {
            'token_embedding.weight': torch.randn(100, 16),
            'positional_embedding': torch.randn(77, 16),
            'ln_final.weight': torch.ones(16),
            'text_projection': torch.randn(16, 16),
        }
    )
    path = save({'state_dict': sd}, tmp_path)
    with pytest.raises(CheckpointFormatError, match='text-only transformer'):
        load_vit_weights(vit(), path)


def test_clip_resnet_is_named(tmp_path):
    path = save(
        {
            'visual.conv1.weight': torch.randn(8, 3, 3, 3),
            'visual.layer1.0.conv1.weight': torch.randn(8, 8, 1, 1),
            'token_embedding.weight': torch.randn(10, 8),
        },
        tmp_path,
    )
    with pytest.raises(CheckpointFormatError, match='CLIP ResNet image encoder'):
        load_vit_weights(vit(), path)


def test_corrupt_and_truncated_files(tmp_path):
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointFormatError, match='corrupt, truncated or not a PyTorch checkpoint'):
        read_checkpoint(str(junk))
    good = save(TimmViT().state_dict(), tmp_path, 'good.pth')
    data = open(good, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointFormatError, match='corrupt, truncated'):
        load_vit_weights(vit(), str(cut))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointFormatError, match='empty file'):
        read_checkpoint(str(empty))
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        read_checkpoint(str(tmp_path / 'missing.pth'))


def test_pickled_module_is_refused(tmp_path):
    path = save(nn.Linear(2, 2), tmp_path)  # a whole pickled module, not a state dict
    with pytest.raises(UnsafeCheckpointError, match=r'needs torch\.nn\.modules\.linear\.Linear, which can run code'):
        read_checkpoint(path)


def test_clip_checkpoint_into_plain_vit_names_the_fix(tmp_path):
    path = save({'state_dict': {'visual.' + k: v for k, v in ClipViT().state_dict().items()}}, tmp_path)
    with pytest.raises(CheckpointFormatError, match='clip_style_vit_kwargs'):
        load_vit_weights(vit(), path)


def test_wrong_size_and_too_few_matches(tmp_path):
    path = save(TimmViT(dim=64, heads=2).state_dict(), tmp_path)
    with pytest.raises(CheckpointFormatError, match="different ViT architecture.*'embed_dims': 64"):
        load_vit_weights(vit(), path)
    partial = {k: v for k, v in TimmViT().state_dict().items() if not k.startswith('blocks.1.')}
    path = save(partial, tmp_path, 'partial.pth')
    with pytest.raises(CheckpointFormatError, match=r'matched only 18/30 .*min_matched'):
        load_vit_weights(vit(), path)
    report = load_vit_weights(vit(), path, min_matched=0.5)  # an intended partial load
    assert report['loaded'] == 18 and len(report['missing']) == 12


def test_missing_branch_is_named(tmp_path):
    sd = {'module.base_encoder.' + k: v for k, v in TimmViT().state_dict().items()}
    path = save({'state_dict': sd}, tmp_path)
    with pytest.raises(CheckpointFormatError, match="no tensors under 'module.momentum_encoder.'"):
        load_vit_weights(vit(), path, branch='target')


class _Sneaky:
    """Pickles as getattr(ndarray, 'tofile'): a file-writing method smuggled in through getattr."""

    def __reduce__(self):
        import numpy as np

        return (getattr, (np.zeros(1), 'tofile'))


def test_old_runner_checkpoint_and_smuggled_code_are_refused_by_name(tmp_path):
    import os

    import numpy as np
    from mmengine.logging import HistoryBuffer

    runner = save(
        {
            'state_dict': {'backbone.w': torch.ones(2)},
            'meta': {'iter': np.int64(7)},
            'message_hub': {'loss': HistoryBuffer()},
        },
        tmp_path,
        'runner.pth',
    )
    with pytest.raises(UnsafeCheckpointError, match=r'HistoryBuffer.*numpy.*convert\.py --trust-pickle SRC DST'):
        read_checkpoint(runner)
    evil = save({'meta': {'iter': 7}, 'x': os.system}, tmp_path, 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match=r'needs (posix|nt)\.system'):
        read_checkpoint(evil)
    sneaky = save({'meta': {'iter': 7}, 'x': _Sneaky()}, tmp_path, 'sneaky.pth')
    with pytest.raises(UnsafeCheckpointError, match=r'needs builtins\.getattr, numpy'):
        read_checkpoint(sneaky)


def test_protocol_4_and_torchscript_are_named(tmp_path):
    path = str(tmp_path / 'p4.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, path, pickle_protocol=4)
    with pytest.raises(CheckpointFormatError, match='pickle protocol > 2'):
        read_checkpoint(path)
    script = str(tmp_path / 'clip.pt')
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), script)
    with pytest.raises(UnsafeCheckpointError, match='TorchScript archive.*--trust-pickle'):
        read_checkpoint(script)
