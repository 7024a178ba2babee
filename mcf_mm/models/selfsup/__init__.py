from .farl import FaRL
from .mcf import MCF, unpatchify

__all__ = ['MCF', 'FaRL', 'unpatchify']
