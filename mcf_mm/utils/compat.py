"""Environment compatibility fixes for the OpenMMLab stack, applied once on ``import mcf_mm``.

Each fix is a no-op where it is not needed (see ../shared/design/ENV.md for the traps they address):

1. ``mmcv._ext`` stand-in when mmcv-lite (no compiled ops) is installed, so ``mmseg.models`` and
   ``mmpose.models`` import; calling a compiled op raises a clear error.
2. The runner's own checkpoints (resume, ``load_from``) hold mmengine objects, which torch >= 2.6 refuses
   under ``weights_only=True``; the runner's local loader reads them with ``weights_only=False``.
   Checkpoints a user downloads go through :mod:`mcf_mm.checkpoint` with ``weights_only=True``.
3. ``torchrun`` without CUDA: mmengine's launcher calls ``torch.cuda.set_device``; here the process
   group is initialised with gloo instead.
4. Local file writes of mmengine (checkpoints, ``last_checkpoint``) become atomic: write to a temporary
   file in the same folder, then ``os.replace``, so a killed run never leaves a half-written file.
5. Import-time deprecation noise is filtered (not turned into errors).
"""
import importlib
import importlib.machinery
import os
import os.path as osp
import sys
import tempfile
import types
import warnings
from typing import Union

_APPLIED = False


def _install_mmcv_ext_standin() -> None:
    """Register a stand-in ``mmcv._ext`` when the compiled extension is absent."""
    try:
        importlib.import_module('mmcv._ext')
        return
    except ImportError:
        pass
    except Exception:  # a broken compiled build: leave it to mmcv to report
        return

    class _MissingOps(types.ModuleType):
        def __getattr__(self, name: str):
            if name.startswith('__'):
                raise AttributeError(name)

            def _unavailable(*args, **kwargs):
                raise NotImplementedError(
                    f'mmcv compiled op `{name}` is unavailable: mmcv-lite is installed. Install full mmcv '
                    '(see README, "GPU and compiled ops") to use it.')
            return _unavailable

    module = _MissingOps('mmcv._ext')
    module.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
    module.__file__ = None
    sys.modules['mmcv._ext'] = module


def _trusted_local_loader() -> None:
    """Let the runner read its own checkpoints (they contain mmengine objects) under torch >= 2.6."""
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    original = CheckpointLoader._schemes.get('')
    if original is None or getattr(original, '_mcf_mm_trusted', False):
        return

    def load_from_local(filename: str, map_location=None):
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return torch.load(filename, map_location=map_location, weights_only=False)

    load_from_local._mcf_mm_trusted = True
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)


def _cpu_distributed_launcher() -> None:
    """Initialise torchrun process groups with gloo when CUDA is absent."""
    import torch
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils

    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mcf_mm_cpu', False):
        return

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']), **kwargs)

    _init_dist_pytorch._mcf_mm_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


def atomic_write_bytes(obj: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``obj`` to ``filepath`` so that readers see either the old file or the complete new one."""
    filepath = os.fspath(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(filepath) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_local_writes() -> None:
    """Make mmengine's LocalBackend.put / put_text atomic."""
    from mmengine.fileio.backends.local_backend import LocalBackend

    if getattr(LocalBackend.put, '_mcf_mm_atomic', False):
        return

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)

    put._mcf_mm_atomic = True
    LocalBackend.put = put
    LocalBackend.put_text = put_text


def _filter_noise() -> None:
    for pattern in ('.*torch.jit.script.*', '.*pkg_resources is deprecated.*', '.*FileClient.*deprecated.*',
                    '.*TypedStorage is deprecated.*'):
        warnings.filterwarnings('ignore', message=pattern)
    warnings.filterwarnings('ignore', category=DeprecationWarning, module=r'(mmengine|mmcv|mmpose|mmseg|mmdet)')


def apply_compat() -> None:
    """Apply every fix once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _filter_noise()
    _install_mmcv_ext_standin()
    _trusted_local_loader()
    _cpu_distributed_launcher()
    _atomic_local_writes()
    _APPLIED = True
