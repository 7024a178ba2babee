"""Evaluate an exported alignment model on a config's test set with onnxruntime (the test metric of the config).

Usage:
  python tools/deployment/evaluate_onnx_landmarks.py CONFIG MODEL.onnx [--threads 1]
Each test face is read from its file, cropped about its box by the runtime (mcf_mm.deployment.runtime), the
graph run by onnxruntime, the points mapped back to the image and scored by the config's FaceAlignmentMetric
(compare with `tools/test.py CONFIG CHECKPOINT` on the checkpoint the model was exported from).
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # the repository root

from mcf_mm.utils.cli import run_cli  # noqa: E402


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description='Score an exported landmark model on the config test set.')
    parser.add_argument('config')
    parser.add_argument('onnx')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    for path in (args.config, args.onnx):
        if not osp.isfile(path):
            raise FileNotFoundError(f'not found: {path}')

    import cv2
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS, METRICS

    import mcf_mm.downstream.alignment  # noqa: F401  (registers the datasets and the metric)
    from mcf_mm.deployment.runtime import OnnxLandmarker

    cfg = Config.fromfile(args.config)
    init_default_scope('mmpose')
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    metric = METRICS.build(cfg.test_evaluator)
    runner = OnnxLandmarker(args.onnx, threads=args.threads)
    preds, gts, boxes = [], [], []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        image = cv2.imread(info['img_path'])
        if image is None:
            raise FileNotFoundError(f'cannot read {info["img_path"]}')
        box = np.asarray(info['bbox'], np.float64).reshape(-1, 4)[0]
        points, _ = runner.predict(image, box)
        preds.append(points)
        gts.append(np.asarray(info['keypoints'], np.float64).reshape(-1, 2))
        boxes.append(box)
    out = metric.evaluate_arrays(np.stack(preds), np.stack(gts), np.stack(boxes))
    print(f'{len(preds)} faces: ' + '  '.join(f'{k}: {v:.4f}' for k, v in out.items()))
    return out


if __name__ == '__main__':
    run_cli(main, ValueError)
