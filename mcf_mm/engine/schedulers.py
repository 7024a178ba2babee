"""The MAE/MCF learning-rate schedule in closed form, set once per gradient-accumulation window."""

import math
from typing import List, Optional

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mcf_mm.registry import PARAM_SCHEDULERS


class _WindowedWarmupCosine(_ParamScheduler):
    """Linear warm-up from 0, then half-cosine to ``eta_min``, as MAE's ``lr_sched.adjust_learning_rate``
    (the schedule MCF's pre-training uses), evaluated where the original calls it.

    The original calls it at the first micro-iteration of each accumulation window, with the fractional epoch
    ``epoch + it / epoch_length`` (``it`` counts micro-iterations within the epoch, so windows restart at
    every epoch), and keeps that value for the whole window. At micro-iteration ``s`` (global, from 0) this
    scheduler therefore gives, with ``e, it = divmod(s, epoch_length)`` and ``t = e + (it - it % window) /
    epoch_length``::

        value = base * t / warmup_epochs                                            if t < warmup_epochs
        value = eta_min + (base - eta_min) * (1 + cos(pi * (t - warmup) / (epochs - warmup))) / 2   otherwise

    ``base`` is each parameter group's initial value (so per-group multipliers are kept). mmengine's
    ``LinearLR`` cannot start at 0 (its chained update divides by the start factor) and changes the value at
    every micro-iteration; this scheduler does neither.

    Args:
        optimizer: the optimiser (wrapper) whose groups are scheduled.
        warmup_epochs: warm-up length in epochs (may be fractional).
        epochs: total epochs of the schedule (the cosine ends there).
        epoch_length: micro-iterations per epoch (``len(train_dataloader)``; given by the runner when the config
            sets ``by_epoch=True, convert_to_iter_based=True``).
        window: micro-iterations per optimiser step (``optim_wrapper.accumulative_counts``); 1 = every iteration.
        eta_min: the final value.
    """

    def __init__(
        self,
        optimizer,
        param_name: str,
        warmup_epochs: float,
        epochs: float,
        epoch_length: Optional[int] = None,
        window: int = 1,
        eta_min: float = 0.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = False,
        verbose: bool = False,
    ) -> None:
        if by_epoch:
            raise ValueError(
                f'{type(self).__name__} is iteration-based: set by_epoch=True together with '
                'convert_to_iter_based=True (the runner then passes epoch_length), or by_epoch=False with epoch_length.'
            )
        if not (isinstance(epoch_length, int) and epoch_length > 0):
            raise ValueError(f'epoch_length must be a positive int (iterations per epoch), got {epoch_length!r}.')
        if not (isinstance(window, int) and window >= 1):
            raise ValueError(f'window must be an int >= 1 (optim_wrapper.accumulative_counts), got {window!r}.')
        if not 0 <= warmup_epochs < epochs:
            raise ValueError(f'need 0 <= warmup_epochs < epochs, got warmup_epochs={warmup_epochs}, epochs={epochs}.')
        self.warmup_epochs, self.epochs, self.epoch_length = warmup_epochs, epochs, epoch_length
        self.window, self.eta_min = window, eta_min
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=INF, by_epoch=True, epoch_length=None, **kwargs):
        """The iteration-based instance of an epoch-based config (begin/end converted to iterations)."""
        if not by_epoch:
            raise ValueError('convert_to_iter_based needs by_epoch=True.')
        if epoch_length is None or epoch_length <= 0:
            raise ValueError(f'epoch_length must be a positive int, got {epoch_length!r}.')
        begin = int(begin * epoch_length)
        end = end if end == INF else int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, epoch_length=epoch_length, **kwargs)

    def fraction_epoch(self, step: int) -> float:
        """The fractional epoch at which the original evaluates the schedule for micro-iteration ``step``."""
        epoch, it = divmod(step, self.epoch_length)
        return epoch + (it - it % self.window) / self.epoch_length

    def _get_value(self) -> List[float]:
        t = self.fraction_epoch(self.last_step + self.begin)
        warm, total = self.warmup_epochs, self.epochs
        out = []
        for base in self.base_values:
            if t < warm:
                out.append(base * t / warm)
            else:
                progress = min((t - warm) / (total - warm), 1.0)
                out.append(self.eta_min + (base - self.eta_min) * 0.5 * (1.0 + math.cos(math.pi * progress)))
        return out


@PARAM_SCHEDULERS.register_module()
class WindowedWarmupCosineLR(LRSchedulerMixin, _WindowedWarmupCosine):
    """The MAE/MCF learning-rate schedule (warm-up from 0, half-cosine), set once per accumulation window.

    Config: ``dict(type='WindowedWarmupCosineLR', warmup_epochs=1, epochs=16, window=8, by_epoch=True,
    convert_to_iter_based=True)``; see :class:`_WindowedWarmupCosine` for the formula.
    """
