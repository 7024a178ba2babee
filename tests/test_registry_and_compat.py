"""Registry hierarchy; `import mcf_mm` leaves mmengine, torch and the warning filters alone; the mmcv-lite stand-in."""

import json
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.registry import Registry

from mcf_mm import registry as reg
from mcf_mm.utils import mmcv_ext_stub


def test_every_registry_is_a_child_of_mmpretrains():
    from mmpretrain import registry as pre

    nodes = {k: v for k, v in vars(reg).items() if isinstance(v, Registry)}
    expected = {k for k, v in vars(pre).items() if isinstance(v, Registry) and k in nodes}
    assert len(nodes) >= 20 and set(nodes) >= expected
    for name, node in nodes.items():
        assert node.scope == 'mcf_mm', name
        assert node.parent is getattr(pre, name), name


def test_mmpretrain_names_resolve_in_mcf_mm_scope_and_ours_from_mmseg():
    from mmengine.registry import init_default_scope

    init_default_scope('mcf_mm')
    assert reg.MODELS.get('MAEPretrainDecoder') is not None  # mmpretrain's, seen from our scope
    from mmseg.registry import MODELS as SEG_MODELS

    vit = SEG_MODELS.build(
        dict(
            _scope_='mcf_mm',
            type='FaceViT',
            arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
            img_size=32,
            patch_size=8,
            out_type='featmap',
            final_norm=False,
        )
    )
    assert type(vit).__name__ == 'FaceViT' and vit(torch.zeros(1, 3, 32, 32))[0].shape == (1, 32, 4, 4)


# What a fresh interpreter records before and after importing every public package of mcf_mm.
SNAPSHOT = textwrap.dedent("""
    import json, sys, warnings
    import torch, torch.serialization
    import mmengine.dist.utils as dist_utils
    import mmengine.runner.checkpoint as ckpt
    from mmengine.fileio.backends.local_backend import LocalBackend

    def snapshot():
        return dict(
            filters=[repr(f) for f in warnings.filters],
            torch_load=repr(torch.load), safe_globals=repr(torch.serialization.get_safe_globals()),
            loaders={k: repr(v) for k, v in ckpt.CheckpointLoader._schemes.items()},
            load_checkpoint=repr(ckpt.load_checkpoint), init_dist=repr(dist_utils.init_dist),
            init_dist_pytorch=repr(dist_utils._init_dist_pytorch),
            put=repr(LocalBackend.put), put_text=repr(LocalBackend.put_text),
            mmcv_ext=repr(sys.modules.get('mmcv._ext')))

    # the libraries mcf_mm builds on change filters themselves when first imported: import them first
    import torch._dynamo, scipy.special, mmpretrain.models, mmseg.models, mmpose.models  # noqa: F401
    import mmpretrain.apis, mmseg.apis, mmpose.apis  # noqa: F401
    before = snapshot()
    import mcf_mm, mcf_mm.models, mcf_mm.datasets, mcf_mm.engine, mcf_mm.checkpoint, mcf_mm.utils
    import mcf_mm.downstream.alignment, mcf_mm.downstream.parsing, mcf_mm.apis
    after = snapshot()
    ext = sys.modules.get('mmcv._ext')
    print(json.dumps(dict(changed={k: [before[k], after[k]] for k in before if before[k] != after[k]},
                          ext_file=getattr(ext, '__file__', None))))
""")


@pytest.mark.slow
def test_import_mcf_mm_has_no_global_side_effects(repo_root):
    run = subprocess.run([sys.executable, '-c', SNAPSHOT], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    changed = report['changed']
    changed.pop('mmcv_ext', None)  # importing mmseg/mmpose models imports mmcv._ext: checked just below
    assert changed == {}
    # mmcv._ext, if imported, is a real module from a file (compiled, or the installed stand-in), not an in-memory fake
    assert report['ext_file'] is None or osp.isfile(report['ext_file'])


FRESH = textwrap.dedent("""
    import json, sys
    from mmpose.apis import MMPoseInferencer  # noqa: F401
    from mmseg.apis import MMSegInferencer  # noqa: F401
    from mmengine.utils.dl_utils import mmcv_full_available
    import mmcv._ext as ext
    try:
        ext.nms(None)
        raised = ''
    except NotImplementedError as err:
        raised = str(err)
    # the two places mmengine's Runner branches on mmcv_full_available(): both must still work
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import DefaultOptimWrapperConstructor
    import torch
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.SyncBatchNorm(4))
    reverted = type(revert_sync_batchnorm(net)[1]).__name__
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4)), dict(norm_decay_mult=0.0))(net)
    print(json.dumps(dict(mcf_mm='mcf_mm' in sys.modules, full=mmcv_full_available(), file=ext.__file__,
                          raised=raised, reverted=reverted, groups=len(wrapper.optimizer.param_groups),
                          params=len(list(net.parameters())))))
""")


@pytest.mark.slow
def test_inferencers_import_in_a_fresh_interpreter_without_mcf_mm(tmp_path):
    state = mmcv_ext_stub.status()
    if state not in ('stub', 'compiled'):
        pytest.fail(f'mmcv._ext is {state}: run `python -m mcf_mm.utils.mmcv_ext_stub install` (tools/install.sh)')
    run = subprocess.run([sys.executable, '-c', FRESH], cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report['mcf_mm'] is False
    # mmengine's check is "does a loader for mmcv._ext exist": true for the compiled module and for the stand-in
    assert report['full'] is True
    assert report['reverted'] == '_BatchNormXd'
    assert report['groups'] == report['params'] == 4  # paramwise_cfg: one group per parameter, as without mmcv ops
    if state == 'stub':
        assert mmcv_ext_stub.is_our_stub(report['file'])
        assert 'nms' in report['raised'] and 'mmcv-lite' in report['raised'] and 'pip install' in report['raised']
