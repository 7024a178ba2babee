"""Collate for datasets that return None for an unreadable sample (``on_bad='drop'``): the batch shrinks."""

from typing import Any, Sequence

from mmengine.dataset import default_collate
from mmengine.registry import FUNCTIONS

# mcf_mm.registry has no FUNCTIONS node: the name goes to mmengine's, which every scope falls back to.


@FUNCTIONS.register_module()
def drop_bad_collate(data_batch: Sequence[Any]) -> Any:
    """Remove the None samples of a batch, then mmengine's ``default_collate``.

    Args:
        data_batch: the samples of one batch; None marks one the dataset could not read (it counted it).

    Raises:
        RuntimeError: every sample of the batch is None (an empty batch is never produced).
    """
    kept = [sample for sample in data_batch if sample is not None]
    if not kept:
        raise RuntimeError(
            f'all {len(data_batch)} samples of a training batch are unreadable (the dataset returned None for '
            'each): the data is broken where this batch reads it. Check the shards (the warnings above name the '
            "bad samples), or use a larger batch_size or the dataset's on_bad='redraw'."
        )
    return default_collate(kept)
