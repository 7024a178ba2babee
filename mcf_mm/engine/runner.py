"""mcf_mm's runner: mmengine's Runner with safe checkpoint reading and crash-safe checkpoint writing."""
from mmengine.runner import Runner

from mcf_mm.registry import RUNNERS


@RUNNERS.register_module()
class FaceRunner(Runner):
    """mmengine ``Runner`` used by ``tools/train.py`` and ``tools/test.py`` for every mcf_mm config."""
