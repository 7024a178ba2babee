from .mcf import MCF, unpatchify

__all__ = ['MCF', 'unpatchify']
