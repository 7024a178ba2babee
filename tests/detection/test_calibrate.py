"""The calibration tool on a FASSEG-layout fixture: detections matched, mapping fitted on train, scored on test."""

import cv2
import numpy as np
import pytest

from mcf_mm.detection import Face, FaceDetector
from mcf_mm.detection.calibrate import calibrate, dataset_items


class FractionDetector(FaceDetector):
    """A face at fixed fractions of the image (none in images 90 px wide): a detector with a known answer."""

    name = 'fraction'

    def _detect(self, img):
        h, w = img.shape[:2]
        if w == 90:
            return []
        return [Face(np.array([0.1 * w, 0.2 * h, 0.8 * w, 0.9 * h]), 0.99, None)]


def test_calibrate_fits_on_train_and_scores_test(tmp_path):
    sizes = {'Train_RGB': [(40, 60), (50, 50), (64, 48)], 'Test_RGB': [(30, 80), (60, 90)]}  # (h, w)
    for folder, shapes in sizes.items():
        (tmp_path / 'fasseg' / 'V1' / folder).mkdir(parents=True)
        for i, (h, w) in enumerate(shapes):
            cv2.imwrite(str(tmp_path / 'fasseg' / 'V1' / folder / f'{i}.png'), np.full((h, w, 3), 99, np.uint8))
    items = dataset_items('fasseg', str(tmp_path))
    assert [s for _, _, s in items] == ['train'] * 3 + ['test'] * 2
    assert items[0][1] == [0.0, 0.0, 60.0, 40.0]  # the whole photo [0, 0, W, H]
    report = calibrate('fasseg', str(tmp_path), detector=FractionDetector())
    # the detector box is 0.7 of each side, centred at (0.45, 0.55): the image frame is dx = 0.05 / 0.7, etc.
    m = report['mapping']
    assert m['dx'] == pytest.approx(0.05 / 0.7) and m['dy'] == pytest.approx(-0.05 / 0.7)
    assert m['sx'] == pytest.approx(1 / 0.7) and m['sy'] == pytest.approx(1 / 0.7)
    assert report['missed'] == [str(tmp_path / 'fasseg' / 'V1' / 'Test_RGB' / '1.png')]
    assert report['fit_residuals']['n'] == 3 and report['test_residuals']['n'] == 1
    assert report['test_residuals']['iou_min'] == pytest.approx(1.0)
    assert report['identity_test_residuals']['iou_mean'] == pytest.approx(0.49)
    with pytest.raises(FileNotFoundError, match='no images of celebamask_hq_samples'):
        dataset_items('celebamask_hq_samples', str(tmp_path))
