"""Exact RNG resume: the torch/numpy/python RNG states travel in each checkpoint."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mcf_mm.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the torch/numpy/python RNG states in each checkpoint and restore them on resume.

    With it, a run interrupted at a checkpoint and resumed draws the same masks and flips as an
    uninterrupted run (mmengine alone re-seeds, which repeats the first epoch's randomness). Only rank 0
    writes checkpoints, so under DDP the other ranks derive distinct states from rank 0's on restore.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return  # fine-tuning from a checkpoint keeps its own seed
        torch.set_rng_state(state['torch'])
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])
        if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state['cuda'])
        rank = get_rank()
        if rank > 0:
            seed = int(torch.randint(0, 2**31 - 1, ()).item()) + rank
            torch.manual_seed(seed)
            np.random.seed(seed % 2**32)
            random.seed(seed)
        runner.logger.info('Restored RNG states from the checkpoint.')
