"""Explicit environment set-up for mcf_mm's tools (nothing here runs on ``import mcf_mm``).

``tools/train.py`` and ``tools/test.py`` call :func:`setup_env` on the merged config before building the runner,
the way OpenMMLab tools call ``register_all_modules``. It changes the config, never mmengine or torch:

- ``torchrun`` on a host without CUDA, NPU, MLU or MUSA: mmengine's ``_init_dist_pytorch`` always calls
  ``torch.cuda.set_device(LOCAL_RANK)``, which fails there. No config value avoids that call, so the process group
  is initialised here from ``env_cfg.dist_cfg`` (mmengine's Runner then finds it initialised and skips
  ``init_dist``). The requested backend is kept; only ``nccl``, which needs CUDA, becomes ``gloo``.
  DDP gets ``device_ids=None`` (``model_wrapper_cfg``), the CPU form.
- CUDA without NCCL (e.g. Windows) and ``nccl`` requested: ``env_cfg.dist_cfg.backend`` becomes ``gloo``.
- NPU/MLU/MUSA hosts, and the slurm/mpi launchers, are left to mmengine.
- A downstream config (mmseg/mmpose scope) with mmcv-lite but no ``mmcv._ext`` stops with the install command.
"""

import datetime
import importlib.util
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

_MMCV_OPS_SCOPES = ('mmseg', 'mmpose', 'mmdet')


def _accelerator() -> Optional[str]:
    """'cuda', 'npu', 'mlu', 'musa' or None (CPU only), as mmengine detects them."""
    from mmengine.device import is_mlu_available, is_musa_available, is_npu_available

    if torch.cuda.is_available():
        return 'cuda'
    for name, available in (('npu', is_npu_available), ('mlu', is_mlu_available), ('musa', is_musa_available)):
        if available():
            return name
    return None


def resolve_backend(requested: str, accelerator: Optional[str]) -> str:
    """The backend to use: the requested one, except ``nccl`` without CUDA or NCCL, which becomes ``gloo``."""
    if requested != 'nccl':
        return requested
    if accelerator == 'cuda' and torch_dist.is_nccl_available():
        return requested
    return 'gloo' if accelerator in (None, 'cuda') else requested  # NPU/MLU/MUSA: mmengine picks its own backend


def _dist_cfg(cfg: Config) -> dict:
    env_cfg = cfg.get('env_cfg')
    if env_cfg is None:
        cfg.env_cfg = env_cfg = dict(dist_cfg=dict(backend='nccl'))  # mmengine's Runner.from_cfg default
    dist_cfg = env_cfg.get('dist_cfg')
    if dist_cfg is None:
        env_cfg['dist_cfg'] = dist_cfg = dict()
    dist_cfg.setdefault('backend', 'nccl')  # mmengine's init_dist default
    return dist_cfg


def init_cpu_process_group(dist_cfg: dict) -> None:
    """``init_process_group`` as mmengine's ``_init_dist_pytorch`` does it, minus ``torch.cuda.set_device``."""
    kwargs = dict(dist_cfg)
    backend = kwargs.pop('backend')
    if kwargs.get('timeout') is not None:  # seconds in the config, a timedelta for torch (as in init_dist)
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    available = getattr(torch_dist, 'is_backend_available', None)
    if available is not None and not available(backend):
        raise RuntimeError(
            f'env_cfg.dist_cfg.backend={backend!r} is not available in this torch build; '
            'use gloo on a CPU-only host (--cfg-options env_cfg.dist_cfg.backend=gloo).'
        )
    torch_dist.init_process_group(backend=backend, **kwargs)


def check_mmcv_ops_importable(cfg: Config) -> None:
    """A downstream config needs ``mmcv.ops`` to import: refuse early, with the fix, if ``mmcv._ext`` is absent."""
    if cfg.get('default_scope') not in _MMCV_OPS_SCOPES or importlib.util.find_spec('mmcv') is None:
        return
    if importlib.util.find_spec('mmcv._ext') is None:
        raise RuntimeError(
            'mmcv has no `mmcv._ext` (mmcv-lite ships no compiled ops), so mmseg/mmpose models cannot be imported. '
            'Run `python -m mcf_mm.utils.mmcv_ext_stub install` once (tools/install.sh does it), or install full mmcv.'
        )


def setup_env(cfg: Config) -> Config:
    """Adapt ``cfg`` (and, for torchrun on a CPU-only host, the process group) to this machine; return ``cfg``.

    Call after all command-line overrides are merged and before the runner is built. Idempotent.
    """
    check_mmcv_ops_importable(cfg)
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none':
        return cfg
    accelerator = _accelerator()
    dist_cfg = _dist_cfg(cfg)
    if dist_cfg.get('init_backend', 'torch') != 'torch':
        return cfg  # deepspeed / colossalai initialise themselves
    dist_cfg['backend'] = resolve_backend(dist_cfg['backend'], accelerator)
    if accelerator is not None or launcher != 'pytorch':
        return cfg
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    kind = wrapper.get('type', '')
    if 'DistributedDataParallel' in (kind if isinstance(kind, str) else kind.__name__):
        wrapper['device_ids'] = None  # DDP of CPU modules (mmengine's default is [LOCAL_RANK], a GPU)
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        init_dist_kwargs = {k: v for k, v in dist_cfg.items() if k != 'init_backend'}
        init_cpu_process_group(init_dist_kwargs)
    return cfg
