"""Measure a detector's box -> training box mapping on a dataset: fit on the train split, residuals on test.

    MCF_MM_DATA=/path/to/data python -m mcf_mm.detection.calibrate helen29 --out work_dirs/infer/helen29.json

Datasets: ``helen29`` (training box = the 29 landmarks' bounding box, as ``Helen29MatDataset`` reads it),
``fasseg`` (whole photo, V1/V2 RGB images, train 20 / test 50), ``utkface`` (whole 200-px aligned crop, the
dataset's fixed split, ``--max-images`` per split), ``celebamask_hq_samples`` (whole photo; a handful of
images, fitted and reported on the same images), ``mmpose_300w`` / ``mmpose_wflw`` (mmpose's 2 / 4 test
fixtures in COCO form under ``mmpose_face_fixtures/tests/data``: training box = the HRNet square of side
``200 * scale`` about ``center``, as ``Face300WCSVDataset`` / ``WFLWCSVDataset`` read it; fitted and reported on
the same few faces). A face counts as detected when a detection's centre lies in
the training box; the highest-scoring such detection is used. Misses are reported, not fitted.
"""

import argparse
import glob
import json
import os
import os.path as osp
import time
from typing import List, Tuple

import numpy as np

DATASETS = ('helen29', 'fasseg', 'utkface', 'celebamask_hq_samples', 'mmpose_300w', 'mmpose_wflw')


def _image_box(path: str) -> List[float]:
    import cv2

    h, w = cv2.imread(path).shape[:2]
    return [0.0, 0.0, float(w), float(h)]


def dataset_items(name: str, root: str, max_images: int = 0) -> List[Tuple[str, List[float], str]]:
    """(image path, training box x1 y1 x2 y2, split) for every face of dataset ``name`` under ``root``."""
    items = []
    if name == 'helen29':
        from mcf_mm.downstream.alignment.datasets import Helen29MatDataset

        for split in ('train', 'test'):
            ds = Helen29MatDataset(
                data_root=osp.join(root, 'helen29'),
                ann_file='data/helen.mat',
                data_prefix=dict(img='data/img/'),
                split=split,
                pipeline=[],
                test_mode=True,
            )
            for i in range(len(ds)):
                info = ds.get_data_info(i)
                items.append((info['img_path'], np.asarray(info['bbox']).reshape(4).tolist(), split))
    elif name == 'fasseg':
        for split, folder in (('train', 'Train_RGB'), ('test', 'Test_RGB')):
            for p in sorted(glob.glob(osp.join(root, 'fasseg', 'V1', folder, '*.png'))):
                items.append((p, _image_box(p), split))
    elif name == 'utkface':
        from mcf_mm.downstream.classification.datasets.utkface import UTKFaceDataset

        for split in ('train', 'test'):
            ds = UTKFaceDataset(data_root=osp.join(root, 'utkface'), task='gender', split=split, pipeline=[])
            n = len(ds) if max_images <= 0 else min(len(ds), max_images)
            for i in range(n):
                p = ds.get_data_info(i)['img_path']
                items.append((p, _image_box(p), split))
    elif name == 'celebamask_hq_samples':
        for p in sorted(glob.glob(osp.join(root, 'celebamask_hq_samples', 'MaskGAN_demo', 'samples', '*.jpg'))):
            items.append((p, _image_box(p), 'all'))
    elif name in ('mmpose_300w', 'mmpose_wflw'):
        short = name.split('_')[1]
        folder = osp.join(root, 'mmpose_face_fixtures', 'tests', 'data', short)
        with open(osp.join(folder, f'test_{short}.json')) as f:
            coco = json.load(f)
        files = {im['id']: im['file_name'] for im in coco['images']}
        for ann in coco['annotations']:
            (cx, cy), half = ann['center'], ann['scale'] * 100.0
            box = [cx - half, cy - half, cx + half, cy + half]
            items.append((osp.join(folder, files[ann['image_id']]), box, 'all'))
    else:
        raise ValueError(f'unknown dataset {name!r}; one of {DATASETS}')
    if not items:
        raise FileNotFoundError(f'no images of {name} under {root}')
    return items


def detect_all(detector, items) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[str], List[str], List[float]]:
    """Run the detector on every item; returns matched detector boxes [N, 4], their landmarks [N, 5, 2] (None
    if the detector gives none),
    training boxes [N, 4], their splits, the missed image paths and the seconds per image."""
    import cv2

    from .box_convention import face_in_box

    det, lmk, gt, splits, missed, secs = [], [], [], [], [], []
    for path, box, split in items:
        img = cv2.imread(path)
        t0 = time.perf_counter()
        faces = detector.detect(img)
        secs.append(time.perf_counter() - t0)
        face = face_in_box(faces, box)
        if face is None:
            missed.append(path)
            continue
        det.append(face.box)
        lmk.append(face.landmarks)
        gt.append(box)
        splits.append(split)
    has_points = all(p is not None for p in lmk)
    return (
        np.asarray(det).reshape(-1, 4),
        np.asarray(lmk, np.float64).reshape(-1, 5, 2) if has_points else None,
        np.asarray(gt).reshape(-1, 4),
        splits,
        missed,
        secs,
    )


def calibrate(name: str, root: str, detector='mtcnn', max_images: int = 0) -> dict:
    """Fit the mapping on the train split (all images when there is no split) and report residuals."""
    from .base import build_detector
    from .box_convention import fit_box_mapping, mapping_residuals

    det = build_detector(detector)
    items = dataset_items(name, root, max_images)
    boxes, lmk, gt, splits, missed, secs = detect_all(det, items)
    splits = np.asarray(splits)
    fit_on = splits == 'train' if (splits == 'train').any() else np.ones(len(splits), bool)
    test_on = splits == 'test' if (splits == 'test').any() else fit_on
    source = f'calibrate {name} (fit on {int(fit_on.sum())})'
    mapping = fit_box_mapping(boxes[fit_on], gt[fit_on], source, None if lmk is None else lmk[fit_on])
    return dict(
        dataset=name,
        detector=detector if isinstance(detector, str) else type(detector).__name__,
        images=len(items),
        missed=missed,
        seconds_per_image=dict(mean=float(np.mean(secs)), median=float(np.median(secs)), max=float(np.max(secs))),
        mapping=mapping.to_dict(),
        fit_residuals=mapping_residuals(mapping, boxes[fit_on], gt[fit_on]),
        test_residuals=mapping_residuals(mapping, boxes[test_on], gt[test_on]),
        test_residuals_with_landmarks=mapping_residuals(mapping, boxes[test_on], gt[test_on], lmk[test_on])
        if mapping.weights is not None
        else None,
        identity_test_residuals=mapping_residuals(type(mapping)(), boxes[test_on], gt[test_on]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=DATASETS)
    parser.add_argument('--data-root', default=os.environ.get('MCF_MM_DATA', 'data'))
    parser.add_argument('--max-images', type=int, default=0, help='per split (utkface); 0 = all')
    parser.add_argument('--out', help='write the report as JSON here')
    args = parser.parse_args()
    report = calibrate(args.dataset, args.data_root, max_images=args.max_images)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
