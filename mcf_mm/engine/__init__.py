from .checkpoint_io import read_runner_checkpoint
from .ddp import PreStepDistributedDataParallel
from .hooks import BatchNormBatchCheckHook, CrashSafeCheckpointHook, RNGStateHook, SkippedImagesHook
from .loops import ResumableEpochBasedTrainLoop
from .plain_state import from_plain, to_plain
from .runner import FaceRunner
from .schedulers import WindowedWarmupCosineLR

__all__ = [
    'PreStepDistributedDataParallel',
    'BatchNormBatchCheckHook',
    'CrashSafeCheckpointHook',
    'FaceRunner',
    'RNGStateHook',
    'SkippedImagesHook',
    'from_plain',
    'read_runner_checkpoint',
    'to_plain',
    'WindowedWarmupCosineLR',
    'ResumableEpochBasedTrainLoop',
]
from .fsdp import FaceFlexibleRunner, FaceFSDPStrategy, MCFShardedDataParallel  # noqa: E402

__all__ += ['FaceFlexibleRunner', 'FaceFSDPStrategy', 'MCFShardedDataParallel']
