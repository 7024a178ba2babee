"""Drawing of test predictions into a folder (``tools/test.py --show-dir``) for the parsing configs."""

import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.fileio import get
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class FaceSegVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` that writes test drawings to ``out_dir/<image>_<n>.png``.

    mmseg's hook labels test drawings with ``runner.iter``, which builds the training loop (and its dataset) of
    a runner that only tests; this one numbers them by test sample instead. Each file shows the ground truth
    (when the test set has labels) beside the prediction, in the dataset palette. Validation and training
    behave as in mmseg's hook.

    Args:
        out_dir: folder of the test drawings; None = the visualizer's backends, as mmseg's hook.
        Others: as ``SegVisualizationHook``.
    """

    def __init__(self, out_dir: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_dir = out_dir
        self._test_index = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict, outputs: Sequence) -> None:
        if not self.draw or self.out_dir is None:
            return super().after_test_iter(runner, batch_idx, data_batch, outputs)
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        os.makedirs(self.out_dir, exist_ok=True)
        for output in outputs:
            self._test_index += 1
            img = mmcv.imfrombytes(get(output.img_path, backend_args=self.backend_args), channel_order='rgb')
            stem = osp.splitext(osp.basename(output.img_path))[0]
            self._visualizer.add_datasample(
                f'test_{stem}',
                img,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                out_file=osp.join(self.out_dir, f'{stem}_{self._test_index}.png'),
                step=self._test_index,
            )
