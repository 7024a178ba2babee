from .hooks import RNGStateHook, SkippedImagesHook

__all__ = ['RNGStateHook', 'SkippedImagesHook']
