"""mcf_mm: face representation learning (MCF, FaRL) and transfer to face analysis in OpenMMLab."""
from .utils.compat import apply_compat
from .version import __version__

apply_compat()

__all__ = ['__version__', 'apply_compat']
