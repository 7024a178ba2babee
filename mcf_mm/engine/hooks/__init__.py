from .checkpoint_hook import CrashSafeCheckpointHook
from .config_checks import BatchNormBatchCheckHook
from .rng_state_hook import RNGStateHook
from .skipped_images_hook import SkippedImagesHook

__all__ = ['BatchNormBatchCheckHook', 'CrashSafeCheckpointHook', 'RNGStateHook', 'SkippedImagesHook']
