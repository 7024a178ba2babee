"""Environment set-up, config checks and file helpers for mcf_mm's tools.

``setup_env`` is imported on first use, so that ``python -m mcf_mm.utils.mmcv_ext_stub`` (run at install time)
does not import torch.
"""

from .fileio import atomic_write_bytes

__all__ = ['atomic_write_bytes', 'setup_env']


def __getattr__(name: str):
    if name == 'setup_env':
        from .compat import setup_env

        return setup_env
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
