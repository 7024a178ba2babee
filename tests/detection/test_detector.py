"""The detector interface and MTCNN on a real face photo shipped with scikit-image."""

import cv2
import numpy as np
import pytest

from mcf_mm.detection import DETECTORS, Face, FaceDetector, MTCNNDetector, build_detector

skimage_data = pytest.importorskip('skimage.data')
pytest.importorskip('facenet_pytorch')


@pytest.fixture(scope='module')
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()[..., ::-1].copy()  # RGB -> BGR [512, 512, 3]


@pytest.fixture(scope='module')
def mtcnn() -> MTCNNDetector:
    return build_detector('mtcnn')


def test_mtcnn_finds_the_face_with_five_ordered_landmarks(astronaut, mtcnn):
    faces = mtcnn.detect(astronaut)  # its speed is measured by tools, not asserted here (shared CI cores)
    assert len(faces) == 1 and isinstance(faces[0], Face)
    face = faces[0]
    x1, y1, x2, y2 = face.box
    assert face.score > 0.99 and 50 < x2 - x1 < 200 and 50 < y2 - y1 < 200
    pts = face.landmarks  # [5, 2]: left eye, right eye, nose, left / right mouth corner
    assert pts.shape == (5, 2)
    assert ((pts >= face.box[:2]) & (pts <= face.box[2:])).all()
    assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0]  # image-left before image-right
    assert max(pts[0, 1], pts[1, 1]) < pts[2, 1] < min(pts[3, 1], pts[4, 1])  # eyes above nose above mouth
    # the box lies on the bright face, not on the dark background or the suit
    assert astronaut[int(y1) : int(y2), int(x1) : int(x2)].mean() > 100


def test_large_photos_are_searched_at_max_side_and_scaled_back(astronaut, mtcnn):
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_LINEAR)
    small = MTCNNDetector(max_side=512)
    assert small.max_side == 512
    (face,) = small.detect(big)
    (ref,) = mtcnn.detect(astronaut)
    # searched at 512 px, so boxes and points are twice the 512-px ones (up to the resampling)
    np.testing.assert_allclose(face.box, 2 * ref.box, atol=6)
    np.testing.assert_allclose(face.landmarks, 2 * ref.landmarks, atol=6)


def test_no_face_in_a_flat_image(mtcnn):
    assert mtcnn.detect(np.full((200, 200, 3), 127, np.uint8)) == []


@pytest.mark.parametrize(
    'img, match',
    [
        (np.zeros((20, 20), np.uint8), 'grey'),
        (np.zeros((20, 20, 1), np.uint8), 'grey'),
        (np.zeros((20, 20, 4), np.uint8), 'alpha'),
        (np.zeros((20, 20, 3), np.float32), 'uint8'),
    ],
)
def test_bad_arrays_are_refused_with_the_fix(mtcnn, img, match):
    with pytest.raises(ValueError, match=match):
        mtcnn.detect(img)


def test_another_detector_plugs_in():
    @DETECTORS.register_module(name='_test_fixed', force=True)
    class Fixed(FaceDetector):
        name = '_test_fixed'

        def __init__(self, box=(1, 2, 30, 40)):
            self.box = np.asarray(box, np.float64)

        def _detect(self, img):
            return [Face(self.box, 0.5), Face(self.box + 1, 0.8)]

    det = build_detector(dict(type='_test_fixed', box=(0, 0, 10, 10)))
    faces = det.detect(np.zeros((16, 16, 3), np.uint8))
    assert [f.score for f in faces] == [0.8, 0.5]  # highest score first
    assert build_detector(det) is det
    with pytest.raises(KeyError, match='unknown face detector'):
        build_detector('no_such_detector')
