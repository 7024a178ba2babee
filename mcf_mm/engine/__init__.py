from .hooks import RNGStateHook, SkippedImagesHook
from .runner import FaceRunner

__all__ = ['FaceRunner', 'RNGStateHook', 'SkippedImagesHook']
