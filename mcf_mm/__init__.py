"""mcf_mm: face representation learning (MCF, FaRL) and transfer to face analysis in OpenMMLab.

Importing mcf_mm has no side effects on mmengine, torch or the warning filters. Environment fixes are explicit:
``mcf_mm.utils.setup_env(cfg)`` (called by tools/train.py and tools/test.py) and, once per environment,
``python -m mcf_mm.utils.mmcv_ext_stub install`` for mmcv-lite (run by tools/install.sh).
"""

from .version import __version__

__all__ = ['__version__']
