from .rng_state_hook import RNGStateHook
from .skipped_images_hook import SkippedImagesHook

__all__ = ['RNGStateHook', 'SkippedImagesHook']
