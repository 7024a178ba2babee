"""DDP whose train step runs the model's pre-step (MCF's once-per-optimiser-step EMA) before the forward.

mmengine's ``MMDistributedDataParallel.train_step`` preprocesses, runs the forward and updates the parameters
itself: it never calls the module's ``train_step``, so anything a model does there (MCF's ``ema_update='step'``
catch-up in :meth:`mcf_mm.models.MCF.before_step`) would never run under DDP.
"""

from typing import Dict, Union

from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmengine.registry import MODEL_WRAPPERS
from torch import Tensor

# Registered in mmengine's root MODEL_WRAPPERS: Runner.wrap_model looks the type up there, not in the default
# scope's registry (mcf_mm's, a grandchild of the root, is not searched).


@MODEL_WRAPPERS.register_module()
class PreStepDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` (same arguments) that calls ``module.before_step(optim_wrapper)``, when the
    module has one, before mmengine's train step; models without it train exactly as under mmengine's wrapper."""

    def train_step(self, data: Union[dict, tuple, list], optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        before_step = getattr(self.module, 'before_step', None)
        if callable(before_step):
            before_step(optim_wrapper)
        return super().train_step(data, optim_wrapper)
