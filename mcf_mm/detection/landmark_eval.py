"""Landmark NME of one model on its test split with ground-truth boxes vs detector boxes (mapped and raw).

    MCF_MM_DATA=/path/to/data python -m mcf_mm.detection.landmark_eval CONFIG CHECKPOINT --out report.json

Each test face is predicted three times through :func:`mcf_mm.apis.predict`: with the dataset's box (what
``tools/test.py`` evaluates), with the detector's box mapped onto the training convention
(:func:`mcf_mm.detection.box_mapping_for`), and with the raw detector box. NMEs come from the config's own
``FaceAlignmentMetric`` (same normalisers); faces the detector misses are counted and left out of the
detector columns (the ground-truth column is also given on the same subset).
"""

import argparse
import json
import os
import os.path as osp

import numpy as np


def evaluate(config: str, checkpoint: str, batch_size: int = 16) -> dict:
    from mmengine.registry import init_default_scope

    from mcf_mm.apis import init_model, predict
    from mcf_mm.apis.inference import box_mapping_of
    from mcf_mm.detection import build_detector
    from mcf_mm.detection.box_convention import face_in_box
    from mcf_mm.downstream.alignment.metrics import FaceAlignmentMetric

    model = init_model(config, checkpoint)
    init_default_scope('mmpose')
    from mmpose.registry import DATASETS

    ds_cfg = dict(model.cfg.test_dataloader.dataset, pipeline=[])
    ds = DATASETS.build(ds_cfg)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    paths = [info['img_path'] for info in infos]
    gt_boxes = np.stack([np.asarray(info['bbox'], np.float64).reshape(4) for info in infos])  # [F, 4]
    gt_pts = np.stack([np.asarray(info['keypoints'], np.float64).reshape(-1, 2) for info in infos])  # [F, K, 2]

    det = build_detector('mtcnn')
    faces, found = [], []
    for path, box in zip(paths, gt_boxes):
        import cv2

        face = face_in_box(det.detect(cv2.imread(path)), box)
        faces.append(face)
        found.append(face is not None)
    found = np.asarray(found)
    mapping = box_mapping_of(model, 'mtcnn')
    hit = [i for i in range(len(paths)) if found[i]]
    det_boxes = np.stack([faces[i].box for i in hit])  # [D, 4]
    det_lmk = np.stack([faces[i].landmarks for i in hit])  # [D, 5, 2]

    def points(boxes, idx):
        res = predict(model, [paths[i] for i in idx], detector=None, boxes=list(boxes), batch_size=batch_size)
        return np.stack([np.asarray(r['faces'][0]['points']) for r in res])  # [N, K, 2]

    metric_cfg = {k: v for k, v in model.cfg.test_evaluator.items() if k != 'type'}
    metric = FaceAlignmentMetric(**metric_cfg)
    every = list(range(len(paths)))
    pred_gt = points(gt_boxes, every)

    def score(pred, idx):
        return {k: round(float(v), 4) for k, v in metric.evaluate_arrays(pred, gt_pts[idx], gt_boxes[idx]).items()}

    return dict(
        config=config,
        checkpoint=checkpoint,
        faces=len(paths),
        detected=int(found.sum()),
        missed=[paths[i] for i in every if not found[i]],
        mapping=mapping.to_dict(),
        gt_box_all=score(pred_gt, every),
        gt_box_detected_subset=score(pred_gt[hit], hit),
        detector_box_mapped=score(points(mapping.apply(det_boxes), hit), hit),
        detector_box_mapped_with_landmarks=score(points(mapping.apply(det_boxes, det_lmk), hit), hit)
        if mapping.weights is not None
        else None,
        detector_box_raw=score(points(det_boxes, hit), hit),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out')
    args = parser.parse_args()
    report = evaluate(args.config, args.checkpoint)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
