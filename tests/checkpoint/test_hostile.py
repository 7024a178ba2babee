"""Hostile checkpoints through every reading entry point the checkpoint bridge owns: nothing runs, and the
refusal names what the file needed. Each payload is first shown to be live (it does run under full pickle)."""

import glob
import importlib.util
import os
import os.path as osp
import re
import runpy
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

from mcf_fixtures.hostile import expected_message, fire, marker_path, write_hostile_checkpoints
from mcf_mm.checkpoint import CheckpointFormatError, UnsafeCheckpointError, load_vit_weights, read_checkpoint
from mcf_mm.models.backbones import FaceViT

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
from mcf_fixtures.tiny import TINY_ARCH as ARCH  # noqa: E402

# the files every costly entry point (a model built per file) is also tried with
SAMPLE = ['message_hub_legacy', 'numpy_object_zip', 'gadget_config_load', 'gadget_namespace_allowed_setstate']


@pytest.fixture(scope='module')
def hostile(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('hostile'))
    return folder, write_hostile_checkpoints(folder)


def tool(*parts: str):
    path = osp.join(ROOT, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(osp.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refused(folder: str, name: str, call, error=CheckpointFormatError) -> None:
    """``call()`` raises ``error`` naming what the file needed, and the payload did not run."""
    with pytest.raises(error, match=expected_message(name)):
        call()
    assert not osp.exists(marker_path(folder)), f'the payload of {name} ran'


def test_every_payload_is_live(tmp_path):
    files = write_hostile_checkpoints(str(tmp_path))
    marker = marker_path(str(tmp_path))
    live = []
    for name, path in files.items():
        fire(path)  # full unpickling: what a careless loader does
        live.append(osp.exists(marker))
        if osp.exists(marker):
            os.remove(marker)
    inert = {
        'gadget_namespace_allowed_setstate',
        'gadget_ordereddict_shadow',  # allowed globals only
        'gadget_tensor_shadow',
    }
    assert [n for n, ok in zip(files, live) if not ok] == sorted(inert)
    where = ('object', 'top', 'meta', 'message_hub', 'numpy_object', 'reduce')
    assert {f'{w}_{fmt}' for w in where for fmt in ('zip', 'legacy')} <= set(files)
    assert {
        'gadget_getattr',
        'gadget_config_load',
        'gadget_config_fromfile',
        'gadget_ordereddict_setstate',
        'gadget_namespace_setstate',
    } <= set(files)


def test_read_checkpoint_and_load_vit_weights(hostile):
    folder, files = hostile
    for name, path in files.items():
        refused(folder, name, lambda: read_checkpoint(path), UnsafeCheckpointError)
        refused(folder, name, lambda: load_vit_weights(FaceViT(arch=ARCH, img_size=32, patch_size=8), path))


def test_fixed_error_names_the_trusted_conversion(hostile):
    _, files = hostile
    with pytest.raises(UnsafeCheckpointError, match=r'convert\.py --trust-pickle SRC DST.*only for files you trust'):
        read_checkpoint(files['meta_zip'])


def test_converter_and_publish(hostile, tmp_path):
    folder, files = hostile
    convert, publish = tool('model_converters', 'convert.py'), tool('model_converters', 'publish_model.py')
    for name, path in files.items():
        dst = str(tmp_path / f'{name}.pth')
        refused(folder, name, lambda: convert.main([path, dst]))
        refused(folder, name, lambda: convert.main([path, dst, '--source', 'farl']))
        refused(folder, name, lambda: convert.main([path, dst, '--source', 'timm', '--extract-backbone']))
        refused(folder, name, lambda: publish.main([path, dst]))
        assert not glob.glob(str(tmp_path / f'{name}*'))  # nothing written


@pytest.mark.slow  # starts an interpreter
def test_converter_cli_exits_nonzero(hostile, tmp_path):
    import subprocess

    folder, files = hostile
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'model_converters', 'convert.py'),
            files['gadget_config_load'],
            str(tmp_path / 'out.pth'),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'OMP_NUM_THREADS': '1'},
    )
    assert proc.returncode == 1 and 'error: checkpoint' in proc.stderr and 'mmengine.config.config.load' in proc.stderr
    assert not osp.exists(marker_path(folder)) and not osp.exists(tmp_path / 'out.pth')


def test_backbone_teacher_and_tokenizer_init(hostile):
    import mcf_mm.models  # noqa: F401  (registers the tokenizer parts)
    from mcf_mm.models.target_generators import FrozenViTTeacher
    from mcf_mm.registry import MODELS

    folder, files = hostile
    for name, path in files.items():
        vit = FaceViT(arch=ARCH, img_size=32, patch_size=8, init_cfg=dict(type='Pretrained', checkpoint=path))
        refused(folder, name, vit.init_weights)
        refused(folder, name, lambda: FrozenViTTeacher(path, out_indices=(0, 1), num_heads=2))
        with DefaultScope.overwrite_default_scope('mcf_mm'):
            cfg = dict(
                type='VisualTokenizer',
                checkpoint=path,
                input_size=32,
                encoder=dict(type='PatchKMeansEncoder', patch_size=8, num_tokens=7),
            )
            refused(folder, name, lambda: MODELS.build(cfg))


def first_config(pattern: str) -> str:
    found = sorted(glob.glob(osp.join(ROOT, 'configs', pattern)))
    assert found, f'no config matches configs/{pattern}'
    return found[0]


def test_inference_apis(hostile):
    from mcf_mm.apis.alignment import init_landmark_model
    from mcf_mm.apis.parsing import init_face_parser

    folder, files = hostile
    align = first_config('face_alignment/*demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
    parse = first_config('face_parsing/*demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
    for name in SAMPLE:
        refused(folder, name, lambda: init_landmark_model(align, files[name]))
        refused(folder, name, lambda: init_face_parser(parse, files[name]))


def test_visualize_reconstruction_exits_nonzero(hostile, tiny_config, monkeypatch):
    folder, files = hostile
    cfg = tiny_config()
    for name in SAMPLE:
        monkeypatch.setattr(sys, 'argv', ['visualize_reconstruction.py', cfg, files[name], '--out', '/dev/null'])
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(osp.join(ROOT, 'tools', 'visualization', 'visualize_reconstruction.py'), run_name='__main__')
        assert str(exit_info.value.code).startswith('error: ') and exit_info.value.code != 0
        assert re.search(expected_message(name), str(exit_info.value.code))
        assert not osp.exists(marker_path(folder))


def test_zero_shot_eval(hostile, tmp_path):
    folder, files = hostile
    tok = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': torch.rand(256, 192)}}, tok)
    cfg = tmp_path / 'farl.py'
    cfg.write_text(
        f'_base_ = [{first_config("farl/farl_vit-*p8*utkface*.py")!r}]\n'
        f'model = dict(target_generator=dict(checkpoint={tok!r}))\n'
    )
    zero_shot = tool('analysis_tools', 'zero_shot_eval.py')
    for name in SAMPLE:
        refused(folder, name, lambda: zero_shot.evaluate(str(cfg), files[name], str(tmp_path)))
