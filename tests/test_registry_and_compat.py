"""Registry hierarchy and the environment fixes applied on `import mcf_mm`."""
import importlib
import sys

import pytest
import torch
from mmengine.registry import Registry

import mcf_mm
from mcf_mm import registry as reg


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
    vit = SEG_MODELS.build(dict(_scope_='mcf_mm', type='FaceViT',
                                arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
                                img_size=32, patch_size=8, out_type='featmap', final_norm=False))
    assert type(vit).__name__ == 'FaceViT' and vit(torch.zeros(1, 3, 32, 32))[0].shape == (1, 32, 4, 4)


def test_compat_fixes_are_idempotent_and_effective():
    mcf_mm.apply_compat()  # a second application changes nothing
    ext = importlib.import_module('mcf_mm.utils.compat')
    assert ext._APPLIED
    mod = sys.modules['mmcv._ext']
    if getattr(mod, '__file__', None):
        pytest.skip('full mmcv with compiled ops is installed: no stand-in needed')
    assert mod.__spec__ is not None  # mmengine's mmcv_full_available() needs a spec
    from mmengine.utils.dl_utils import mmcv_full_available
    mmcv_full_available()
    try:
        mod.nms(None)
        raise AssertionError('a stand-in op must raise')
    except NotImplementedError as err:
        assert 'mmcv-lite' in str(err) and 'nms' in str(err)
    import mmseg.models  # noqa: F401  (imports mmcv.ops at module level)
    from mmengine.dist import utils as dist_utils
    assert getattr(dist_utils._init_dist_pytorch, '_mcf_mm_cpu', False)
