"""setup_env: explicit, config-level, honours the requested backend, leaves other accelerators to mmengine."""

import copy

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from mcf_mm.utils import compat, setup_env


def cfg_of(**kwargs) -> Config:
    return Config(dict(default_scope='mcf_mm', **kwargs))


def test_backend_choice():
    # (requested, accelerator) -> used: only nccl without CUDA (or without NCCL) becomes gloo
    nccl = torch_dist.is_nccl_available()
    table = {
        ('nccl', None): 'gloo',
        ('gloo', None): 'gloo',
        ('mpi', None): 'mpi',
        ('nccl', 'cuda'): 'nccl' if nccl else 'gloo',
        ('gloo', 'cuda'): 'gloo',
        ('nccl', 'npu'): 'nccl',
        ('nccl', 'mlu'): 'nccl',
        ('nccl', 'musa'): 'nccl',
    }
    assert {k: compat.resolve_backend(*k) for k in table} == table


def test_single_process_and_other_accelerators_are_left_alone(monkeypatch):
    cfg = cfg_of(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl')))
    before = copy.deepcopy(cfg.to_dict())
    assert setup_env(cfg).to_dict() == before
    for device in ('npu', 'mlu', 'musa'):  # mmengine's _init_dist_pytorch handles these hosts itself
        monkeypatch.setattr(compat, '_accelerator', lambda device=device: device)
        cfg = cfg_of(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl')))
        setup_env(cfg)
        assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg
        assert not torch_dist.is_initialized()


def test_cuda_without_nccl_switches_the_config_only(monkeypatch):
    monkeypatch.setattr(compat, '_accelerator', lambda: 'cuda')
    monkeypatch.setattr(torch_dist, 'is_nccl_available', lambda: False)
    cfg = cfg_of(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)))
    setup_env(cfg)
    assert cfg.env_cfg.dist_cfg == dict(backend='gloo', timeout=60) and 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()  # mmengine's init_dist does it (it can set the CUDA device)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU-only torchrun path')
def test_torchrun_on_a_cpu_host_initialises_gloo_from_the_config(monkeypatch):
    from mmengine.dist import get_dist_info, is_distributed

    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1').items():
        monkeypatch.setenv(key, value)
    import socket

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        monkeypatch.setenv('MASTER_PORT', str(s.getsockname()[1]))
    cfg = cfg_of(
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=120)),
        model_wrapper_cfg=dict(type='MMDistributedDataParallel', find_unused_parameters=True),
    )
    try:
        setup_env(cfg)
        assert torch_dist.is_initialized() and torch_dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg == dict(
            type='MMDistributedDataParallel', find_unused_parameters=True, device_ids=None
        )  # the user's wrapper options are kept
        setup_env(cfg)  # idempotent: an initialised group is reused
        assert get_dist_info() == (0, 1)
        # mmengine's Runner.setup_env calls init_dist (and torch.cuda.set_device) only `if not is_distributed()`
        assert is_distributed()
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_a_backend_torch_lacks_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(torch_dist, 'is_backend_available', lambda name: name == 'gloo')
    with pytest.raises(RuntimeError, match="backend='ucc' is not available.*env_cfg.dist_cfg.backend=gloo"):
        compat.init_cpu_process_group(dict(backend='ucc'))


def test_downstream_config_without_mmcv_ext_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'mmcv._ext' else real(name, *a))
    with pytest.raises(RuntimeError, match='python -m mcf_mm.utils.mmcv_ext_stub install'):
        setup_env(Config(dict(default_scope='mmseg', launcher='none')))
    setup_env(cfg_of(launcher='none'))  # pre-training (mcf_mm/mmpretrain scope) does not need mmcv.ops
