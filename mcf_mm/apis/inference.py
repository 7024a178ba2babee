"""One inference API for the landmark, parsing and classification configs, on ordinary photos::

    from mcf_mm.apis import init_model, predict, save_result
    model = init_model(CONFIG, CHECKPOINT)            # the task comes from the config
    for result in predict(model, 'photo.jpg'):         # a path, an array, a folder, a .txt list, or a list
        save_result(result, model, 'out/')            # out/photo.json + pictures

Faces are found by a detector (MTCNN by default, :mod:`mcf_mm.detection`) and each detector box is mapped
onto the box convention the model was trained on (:func:`mcf_mm.detection.box_mapping_for`, keyed by the
config's test dataset). Pre-cropped faces skip detection: ``detector=None`` (the whole image is the face), or
``boxes=`` / ``landmarks=`` per image. How a face reaches each model:

- landmarks (``FaceBoxCrop`` configs): the mapped box is the model's face box;
- parsing, ``FaceAlign(source='landmarks')`` (LaPa): the detector's 5 landmarks align the face;
- parsing, ``FaceAlign(source='image')`` (FASSEG, CelebAMask-HQ) and classification without ``CropFaceBox``
  (UTKFace): these were trained on whole pre-cropped photos, so the mapped box (an image frame) is cut out,
  the model runs on that crop, and its outputs are put back in photo pixels;
- classification with ``CropFaceBox``: the mapped box is ``face_box``.

Errors on bad input come before the model runs (see :func:`collect_images`); an image that cannot be read
inside a folder or list becomes a result with ``error`` set, and the others go on.
"""

import functools
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mcf_mm.detection.base import Face, check_bgr_image

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
TASKS = ('landmarks', 'parsing', 'classification')
ImageInput = Union[str, np.ndarray]

# ------------------------------------------------------------------------------------------------ inputs


def collect_images(inputs: Union[ImageInput, Sequence[ImageInput]]) -> List[ImageInput]:
    """Expand inputs into a flat list of image paths / arrays, checking what can be checked without reading.

    An input is an image file, an array (BGR uint8 [H, W, 3]), a folder (its image files, sorted, not
    recursive) or a ``.txt`` list (one image path a line, relative to the list's folder; ``#`` comments).
    Raises FileNotFoundError for a path that does not exist, a folder without images or an empty list, and
    ValueError for a grey, 4-channel or non-uint8 array. Paths named inside a list are not checked here: a
    missing one becomes an error result (the others still run).
    """
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if not items:
        raise FileNotFoundError('no input images given')
    out: List[ImageInput] = []
    for item in items:
        if isinstance(item, np.ndarray):
            out.append(check_bgr_image(item))
        elif not isinstance(item, str):
            raise TypeError(f'an input must be a path or a numpy array, got {type(item).__name__}')
        elif osp.isdir(item):
            found = sorted(
                osp.join(item, n) for n in os.listdir(item) if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
            )
            if not found:
                raise FileNotFoundError(f'folder {item} holds no image files ({", ".join(IMAGE_EXTENSIONS)})')
            out.extend(found)
        elif not osp.isfile(item):
            raise FileNotFoundError(f'image not found: {item}')
        elif item.lower().endswith('.txt'):
            base = osp.dirname(item)
            with open(item) as f:
                names = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith('#')]
            if not names:
                raise FileNotFoundError(f'list file {item} names no images')
            out.extend(n if osp.isabs(n) else osp.join(base, n) for n in names)
        else:
            out.append(item)
    return out


def read_image(image: ImageInput) -> np.ndarray:
    """A BGR uint8 array [H, W, 3] from a path (grey and RGBA files are converted) or a checked array."""
    if isinstance(image, np.ndarray):
        return check_bgr_image(image)
    if not osp.isfile(image):
        raise FileNotFoundError(f'image not found: {image}')
    img = cv2.imread(image, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'could not decode {image}: not an image OpenCV reads, or the file is corrupt/truncated')
    return img


def check_images(images: Sequence[ImageInput]) -> Tuple[List[ImageInput], Dict[int, str]]:
    """Decode every image once (before any model is built); returns the inputs and {index: error} of the
    unreadable ones. Raises ValueError when none is readable."""
    errors = {}
    for i, image in enumerate(images):
        try:
            read_image(image)
        except (OSError, ValueError) as err:
            errors[i] = str(err)
    if errors and len(errors) == len(images):
        raise ValueError('no input image could be read: ' + '; '.join(errors.values()))
    return list(images), errors


def image_name(image: ImageInput, index: int) -> str:
    """The name a result and its files get: the file name, or ``array<index>`` for arrays."""
    return osp.basename(image) if isinstance(image, str) else f'array{index}'


# ------------------------------------------------------------------------------------------------ model


def task_of_config(cfg) -> str:
    """'landmarks', 'parsing' or 'classification' from a config's model type (pre-training configs have none)."""
    model_type = str(cfg.model.get('type', ''))
    if 'Landmark' in model_type or 'Pose' in model_type:
        return 'landmarks'
    if 'EncoderDecoder' in model_type or 'Parsing' in model_type:
        return 'parsing'
    if 'Classifier' in model_type:
        return 'classification'
    raise ValueError(
        f'a config with model type {model_type!r} is not a landmark, parsing or classification model: pass one of '
        'configs/face_alignment, configs/face_parsing or configs/face_classification (or task=)'
    )


def init_model(
    config: str,
    checkpoint: Optional[str] = None,
    device: str = 'cpu',
    cfg_options: Optional[dict] = None,
    task: Optional[str] = None,
):
    """Build a trained landmark, parsing or classification model of an mcf_mm config (task read from it).

    The model gets ``mcf_task`` (one of :data:`TASKS`) and ``dataset_meta`` (classes / palette / keypoints).
    """
    from mcf_mm.apis import load_inference_config

    cfg = load_inference_config(config, checkpoint, cfg_options)
    task = task or task_of_config(cfg)
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if task == 'landmarks':
        from .alignment import init_landmark_model

        model = init_landmark_model(config, checkpoint, device, cfg_options)
    elif task == 'parsing':
        from .parsing import init_face_parser

        model = init_face_parser(config, checkpoint, device, cfg_options)
    else:
        model = _init_classifier(cfg, checkpoint, device)
    model.mcf_task = task
    model.eval()
    return model


def _init_classifier(cfg, checkpoint: Optional[str], device: str):
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from mcf_mm.checkpoint import load_model_weights

    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mcf_mm'))
    from mcf_mm.registry import DATASETS, MODELS

    model = MODELS.build(cfg.model)
    model.cfg = cfg
    meta = {}
    if checkpoint is not None:
        meta = load_model_weights(
            model, checkpoint, 'a face-classification model of this config', logger=MMLogger.get_current_instance()
        )
    dataset_meta = meta.get('dataset_meta') if isinstance(meta.get('dataset_meta'), dict) else None
    if dataset_meta is None:
        ds = cfg.test_dataloader.dataset
        cls = DATASETS.get(ds.get('type', '')) if ds.get('type') else None
        dataset_meta = dict(getattr(cls, 'METAINFO', None) or {})
        task = ds.get('task')
        if ds.get('type') == 'UTKFaceDataset' and task in ('gender', 'race'):
            from mcf_mm.downstream.classification.datasets import utkface

            dataset_meta = dict(classes={'gender': utkface.GENDERS, 'race': utkface.RACES}[task])
    model.dataset_meta = dataset_meta
    return model.to(device)


# ------------------------------------------------------------------------------------------------ faces


def _pipeline_steps(model) -> List[dict]:
    return [dict(s) for s in model.cfg.test_dataloader.dataset.pipeline]


def face_input_kind(model) -> str:
    """How a face reaches this model: 'box' (its pipeline crops a face box), 'landmarks' (5-point alignment)
    or 'image' (trained on whole pre-cropped photos: the face's region is cut out first)."""
    types = {s['type']: s for s in _pipeline_steps(model)}
    if model.mcf_task == 'landmarks':
        return 'box'
    if model.mcf_task == 'parsing':
        align = types.get('FaceAlign', {})
        return 'landmarks' if align.get('source', 'landmarks') == 'landmarks' else 'image'
    return 'box' if 'CropFaceBox' in types else 'image'


def box_mapping_of(model, detector: str = 'mtcnn'):
    """The detector-box -> training-box mapping for this model's test dataset."""
    from mcf_mm.detection import box_mapping_for

    return box_mapping_for(model.cfg.test_dataloader.dataset.get('type'), detector)


def find_faces(
    img: np.ndarray,
    detector=None,
    box: Optional[Sequence[float]] = None,
    landmarks: Optional[Sequence[Sequence[float]]] = None,
    max_faces: Optional[int] = None,
) -> List[Face]:
    """The faces of one image: the given box / 5 landmarks (score 1), else the detector's, else the whole
    image [0, 0, W, H] (``detector=None``)."""
    h, w = img.shape[:2]
    if box is not None or landmarks is not None:
        pts = None if landmarks is None else np.asarray(landmarks, np.float64)
        if pts is not None and (pts.ndim != 2 or pts.shape[1] != 2):
            raise ValueError(f'landmarks must be [K, 2] (x, y) points, got shape {pts.shape}')
        if box is None:
            box = [*pts.min(axis=0), *pts.max(axis=0)]
        b = np.asarray(box, np.float64).reshape(-1)
        if b.shape != (4,) or b[2] <= b[0] or b[3] <= b[1]:
            raise ValueError(f'a face box is [x1, y1, x2, y2] with x2 > x1 and y2 > y1, got {list(np.ravel(box))}')
        return [Face(b, 1.0, pts)]
    if detector is None:
        return [Face(np.array([0.0, 0.0, w, h]), 1.0, None)]
    faces = detector.detect(img)
    return faces[:max_faces] if max_faces else faces


def crop_region(img: np.ndarray, box: Sequence[float]) -> Tuple[np.ndarray, Tuple[int, int, int, int]]:
    """Cut the integer region ``round(box)`` out of ``img`` (outside the image = black). Returns the crop
    [h, w, 3] and the region (x1, y1, x2, y2) in image pixels."""
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    h, w = img.shape[:2]
    crop = np.zeros((y2 - y1, x2 - x1, 3), img.dtype)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        crop[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = img[sy1:sy2, sx1:sx2]
    return crop, (x1, y1, x2, y2)


def paste_region(label: np.ndarray, region: Sequence[int], shape: Tuple[int, int]) -> np.ndarray:
    """Put a crop's label map [h, w] back at ``region`` of an all-background map of ``shape``."""
    x1, y1, x2, y2 = region
    out = np.zeros(shape, label.dtype)
    h, w = shape
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1:sy2, sx1:sx2] = label[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1]
    return out


# ------------------------------------------------------------------------------------------------ predict


def _landmark_sample(model, img: np.ndarray, box: np.ndarray) -> dict:
    """What ``mmpose.apis.inference_topdown`` feeds the test pipeline for one box (xyxy)."""
    info = dict(img=img, bbox=np.asarray(box, np.float32).reshape(1, 4), bbox_score=np.ones(1, np.float32))
    info.update(model.dataset_meta)
    return info


def _parsing_pipeline(model, n_points: Optional[int]):
    from .parsing import _inference_pipeline

    return _inference_pipeline(model.cfg, True, n_points)


def _classification_pipeline(model):
    from mmcv.transforms import Compose

    steps = []
    for s in _pipeline_steps(model):
        if s['type'] in ('LoadImageFromFile', 'LoadImage'):
            continue
        if s['type'] == 'PackInputs':
            s = dict(type='PackInputs')
        steps.append(s)
    return Compose(steps)


def _scope(model) -> str:
    return {'landmarks': 'mmpose', 'parsing': 'mmseg'}.get(model.mcf_task, model.cfg.get('default_scope', 'mcf_mm'))


def predict(
    model,
    inputs: Union[ImageInput, Sequence[ImageInput]],
    detector: Any = 'mtcnn',
    boxes: Optional[Sequence[Optional[Sequence[float]]]] = None,
    landmarks: Optional[Sequence[Optional[Sequence[Sequence[float]]]]] = None,
    batch_size: int = 8,
    max_faces: Optional[int] = None,
    progress: bool = False,
) -> List[dict]:
    """Predict every face of every input image, ``batch_size`` faces per forward pass.

    Args:
        model: from :func:`init_model`.
        inputs: see :func:`collect_images`.
        detector: a registered name ('mtcnn'), a config dict, a :class:`mcf_mm.detection.FaceDetector`, or
            None = each image is one pre-cropped face (its box is the whole image).
        boxes: one face box [x1, y1, x2, y2] per image in the MODEL's training convention (no mapping), or
            None entries; given boxes skip detection.
        landmarks: one [5, 2] (or LaPa [106, 2]) point array per image, for 5-point aligned parsing; skips
            detection.
        max_faces: keep the highest-scoring faces only.
        progress: show a progress bar over the images (on stderr).
    Returns:
        one dict per image: ``image``, ``width``, ``height``, ``error`` (None or the reason), ``faces``: a
        list of dicts with ``detector_box`` / ``score`` / ``landmarks5`` (the face as found), ``box`` (in
        the model's convention), ``region`` (the cut-out, for whole-image models) and the task's output:
        ``points`` [K, 2] + ``point_scores`` (landmarks); ``label_map`` uint8 [H, W] in photo pixels
        (parsing); ``pred_label`` / ``pred_score`` / ``pred_value`` / ``label_names`` (classification).
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from tqdm import tqdm

    from mcf_mm.detection import build_detector

    images = collect_images(inputs)
    images, errors = check_images(images)
    for name, per_image in (('boxes', boxes), ('landmarks', landmarks)):
        if per_image is not None and len(per_image) != len(images):
            raise ValueError(f'{len(per_image)} {name} for {len(images)} images: give one (or None) per image')
    det = (
        None
        if detector is None
        else _cached_detector(detector)
        if isinstance(detector, str)
        else build_detector(detector)
    )
    kind = face_input_kind(model)
    mapping = box_mapping_of(model, getattr(det, 'name', ''))
    init_default_scope(_scope(model))
    pipes: Dict[Any, Any] = {}
    results: List[dict] = []
    pending: List[Tuple[dict, dict, dict]] = []  # (image result, face entry, pipeline output)

    def run(chunk) -> None:
        with torch.no_grad():
            outs = model.test_step(pseudo_collate([data for _, _, data in chunk]))
        for (res, entry, _), out in zip(chunk, outs):
            _fill(model, res, entry, out)

    for i, image in enumerate(tqdm(images, desc='images', unit='img', disable=not progress)):
        res = dict(image=image if isinstance(image, str) else image_name(image, i), error=errors.get(i), faces=[])
        results.append(res)
        if res['error']:
            continue
        img = read_image(image)
        res['width'], res['height'] = int(img.shape[1]), int(img.shape[0])
        box_i = boxes[i] if boxes is not None else None
        lmk_i = landmarks[i] if landmarks is not None else None
        try:
            faces = find_faces(img, det, box_i, lmk_i, max_faces)
            if model.mcf_task == 'parsing' and kind == 'landmarks' and any(f.landmarks is None for f in faces):
                raise ValueError(
                    'this parsing model aligns the face by 5 landmarks (eyes, nose tip, mouth corners): use '
                    'the detector or pass landmarks'
                )
            detected = det is not None and box_i is None and lmk_i is None
            ready = []
            for face in faces:
                entry = face.to_dict()
                entry['detector_box'] = entry.pop('box') if detected else None
                box = mapping.apply(face.box, face.landmarks) if detected else np.asarray(face.box, np.float64)
                entry['box'] = [float(v) for v in box]
                ready.append((res, entry, _model_input(model, kind, pipes, img, box, face, entry)))
        except (ValueError, RuntimeError, KeyError) as err:
            res['error'] = str(err)
            continue
        res['faces'] = [entry for _, entry, _ in ready]
        if not faces:
            res['error'] = 'no face found'
        pending.extend(ready)
        while len(pending) >= batch_size:
            run(pending[:batch_size])
            pending = pending[batch_size:]
    if pending:
        run(pending)
    return results


def _pipeline(model, pipes: dict, key, build):
    if key not in pipes:
        pipes[key] = build()
    return pipes[key]


def _model_input(model, kind: str, pipes: dict, img: np.ndarray, box: np.ndarray, face: Face, entry: dict) -> dict:
    """One face through the model's test pipeline (what ``test_step`` takes), in the way it was trained."""
    from mmcv.transforms import Compose

    if model.mcf_task == 'landmarks':
        pipe = _pipeline(model, pipes, 'lmk', lambda: Compose(model.cfg.test_dataloader.dataset.pipeline))
        return pipe(_landmark_sample(model, img, box))
    if model.mcf_task == 'parsing':
        if kind == 'landmarks':
            pts = np.asarray(face.landmarks, np.float32)
            pipe = _pipeline(model, pipes, ('seg', len(pts)), lambda: _parsing_pipeline(model, len(pts)))
            return pipe(dict(img=img, face_landmarks=pts))
        crop, region = crop_region(img, box)
        entry['region'] = list(region)
        return _pipeline(model, pipes, ('seg', None), lambda: _parsing_pipeline(model, None))(dict(img=crop))
    pipe = _pipeline(model, pipes, 'cls', lambda: _classification_pipeline(model))
    if kind == 'image':
        crop, region = crop_region(img, box)
        entry['region'] = list(region)
        return pipe(dict(img=crop, img_shape=crop.shape[:2], ori_shape=crop.shape[:2]))
    return pipe(dict(img=img, face_box=[float(v) for v in box], img_shape=img.shape[:2], ori_shape=img.shape[:2]))


@functools.lru_cache(maxsize=4)
def _cached_detector(name: str):
    """One detector per registered name for the process (MTCNN loads its three networks once)."""
    from mcf_mm.detection import build_detector

    return build_detector(name)


def _fill(model, res: dict, entry: dict, out) -> None:
    """Write one model output into its face entry (photo pixels)."""
    if model.mcf_task == 'landmarks':
        pred = out.pred_instances
        entry['points'] = np.asarray(pred.keypoints, np.float64)[0].round(3).tolist()  # [K, 2]
        entry['point_scores'] = np.asarray(pred.keypoint_scores, np.float64)[0].round(4).tolist()  # [K]
    elif model.mcf_task == 'parsing':
        label = out.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)  # [h, w]
        if 'region' in entry:
            label = paste_region(label, entry['region'], (res['height'], res['width']))
        entry['label_map'] = label  # [H, W]
        counts = np.bincount(label.ravel(), minlength=len(model.dataset_meta.get('classes', ())))
        entry['class_pixels'] = {str(c): int(n) for c, n in enumerate(counts) if n}
    else:
        names = model.dataset_meta.get('classes')
        if 'pred_score' in out:
            score = out.pred_score.detach().cpu().numpy().astype(np.float64)
            entry['pred_score'] = score.round(5).tolist()
        if 'pred_label' in out:
            label = out.pred_label.detach().cpu().numpy().reshape(-1).tolist()
            entry['pred_label'] = label[0] if len(label) == 1 else label
            if names is not None:
                entry['label_names'] = [names[k] for k in label]
        if 'pred_value' in out:
            entry['pred_value'] = out.pred_value.detach().cpu().numpy().astype(np.float64).round(4).tolist()


# ------------------------------------------------------------------------------------------------ outputs


def default_palette(n: int) -> np.ndarray:
    """[n, 3] RGB colours: 0 black, the rest fixed and distinct enough."""
    rng = np.random.RandomState(7)
    pal = rng.randint(40, 256, size=(max(n, 1), 3))
    pal[0] = 0
    return pal.astype(np.uint8)


def colour_labels(label: np.ndarray, palette) -> np.ndarray:
    """BGR colour image [H, W, 3] of a class-index map in an RGB ``palette``."""
    pal = np.asarray(palette, np.uint8).reshape(-1, 3)
    if int(label.max(initial=0)) >= len(pal):
        pal = np.concatenate([pal, default_palette(int(label.max()) + 1)[len(pal) :]])
    return pal[label][..., ::-1].copy()


def draw_legend(canvas: np.ndarray, classes: Sequence[str], palette, present: Optional[Sequence[int]] = None):
    """Append a legend panel (one swatch + name per class, in the palette) to the right of a BGR image."""
    pal = np.asarray(palette, np.uint8).reshape(-1, 3)
    h = canvas.shape[0]
    row = max(14, min(28, h // max(len(classes), 1)))
    font = row / 36.0
    width = int(max(len(c) for c in classes) * row * 0.55 + row * 2.2) if classes else 0
    panel = np.full((max(h, row * len(classes) + 8), width, 3), 255, np.uint8)
    for k, name in enumerate(classes):
        y = 4 + k * row
        colour = tuple(int(v) for v in pal[k % len(pal)][::-1])
        cv2.rectangle(panel, (4, y + 2), (4 + row - 4, y + row - 2), colour, -1)
        cv2.rectangle(panel, (4, y + 2), (4 + row - 4, y + row - 2), (0, 0, 0), 1)
        ink = (0, 0, 0) if present is None or k in present else (150, 150, 150)
        cv2.putText(panel, name, (row + 4, y + int(row * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, font, ink, 1, cv2.LINE_AA)
    out = np.full((panel.shape[0], canvas.shape[1] + width, 3), 255, np.uint8)
    out[:h, : canvas.shape[1]] = canvas
    out[:, canvas.shape[1] :] = panel
    return out


def draw_points(canvas: np.ndarray, points, box=None, with_index: bool = True) -> np.ndarray:
    """Draw a face's box (blue) and points (green) with their 0-based indices (red) on a BGR image in place."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    size = (box[2] - box[0]) if box is not None else max(canvas.shape[:2])
    radius = max(1, int(round(size / 100)))
    font = max(0.22, size / 900)
    if box is not None:
        x1, y1, x2, y2 = [int(round(v)) for v in box]
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (255, 0, 0), max(1, radius // 2))
    for k, (x, y) in enumerate(pts):
        p = (int(round(x)), int(round(y)))
        cv2.circle(canvas, p, radius, (0, 255, 0), -1)
        if with_index:
            cv2.putText(
                canvas,
                str(k),
                (p[0] + radius, p[1] - radius),
                cv2.FONT_HERSHEY_SIMPLEX,
                font,
                (0, 0, 255),
                1,
                cv2.LINE_AA,
            )
    return canvas


def _json_ready(result: dict) -> dict:
    out = dict(result, faces=[{k: v for k, v in f.items() if k != 'label_map'} for f in result['faces']])
    return out


def save_result(
    result: dict,
    model,
    out_dir: str,
    alpha: float = 0.5,
    stem: Optional[str] = None,
    image: Optional[np.ndarray] = None,
) -> dict:
    """Write one image's result: ``<stem>.json`` and its pictures; returns the JSON dict (file paths added).

    The pictures are drawn on ``image`` (BGR), default: the result's image file (array inputs: pass the array).

    Pictures: landmarks ``<stem>_points.png`` (boxes, points, indices); parsing per face ``<stem>_face<j>_label.png``
    (class indices) and ``<stem>_face<j>_label_color.png`` (dataset palette), and ``<stem>_overlay.png`` (all
    faces over the photo, legend beside it); classification ``<stem>_labels.png`` (boxes and label names).
    Failed images get the JSON (with ``error``) only.
    """
    os.makedirs(out_dir, exist_ok=True)
    stem = stem or osp.splitext(osp.basename(str(result['image'])))[0]
    base = osp.join(out_dir, stem)
    out = _json_ready(result)
    if not result.get('error') or result['faces']:
        img = image if image is not None else None
        if img is None and osp.isfile(str(result['image'])):
            img = read_image(result['image'])
        if img is not None:
            out['pictures'] = _draw(result, out, model, img, base, alpha)
    with open(base + '.json', 'w') as f:
        json.dump(out, f, indent=1)
    return out


def _draw(result: dict, out: dict, model, img: np.ndarray, base: str, alpha: float) -> List[str]:
    pics = []
    task = model.mcf_task
    if task == 'landmarks':
        canvas = img.copy()
        for face in result['faces']:
            draw_points(canvas, face['points'], face['box'])
        pics.append(base + '_points.png')
        cv2.imwrite(pics[-1], canvas)
    elif task == 'parsing':
        classes = list(model.dataset_meta.get('classes', ()))
        palette = model.dataset_meta.get('palette') or default_palette(len(classes))
        merged = np.zeros(img.shape[:2], np.uint8)
        for j, (face, jface) in enumerate(zip(result['faces'], out['faces'])):
            label = face['label_map']
            jface['label_png'] = f'{base}_face{j}_label.png'
            jface['label_color_png'] = f'{base}_face{j}_label_color.png'
            cv2.imwrite(jface['label_png'], label)
            cv2.imwrite(jface['label_color_png'], colour_labels(label, palette))
            merged = np.where(merged == 0, label, merged)
        colours = colour_labels(merged, palette).astype(np.float32)
        overlay = np.where(merged[..., None] > 0, img * (1 - alpha) + colours * alpha, img).astype(np.uint8)
        for face in result['faces']:
            if face.get('detector_box'):
                x1, y1, x2, y2 = [int(round(v)) for v in face['detector_box']]
                cv2.rectangle(overlay, (x1, y1), (x2, y2), (255, 255, 255), 1)
        if classes:
            overlay = draw_legend(overlay, classes, palette, present=set(np.unique(merged).tolist()))
        pics.append(base + '_overlay.png')
        cv2.imwrite(pics[-1], overlay)
    else:
        canvas = img.copy()
        for face in result['faces']:
            x1, y1, x2, y2 = [int(round(v)) for v in face['box']]
            cv2.rectangle(canvas, (x1, y1), (x2, y2), (255, 0, 0), 2)
            if face.get('label_names'):
                text = ', '.join(face['label_names'])
            elif 'pred_value' in face:
                text = ', '.join(f'{v:.1f}' for v in face['pred_value'])
            else:
                text = str(face.get('pred_label', ''))
            font = max(0.4, (x2 - x1) / 300)
            thick = max(1, int(round(font * 2)))
            org = (x1, max(int(24 * font), y1 - 6))
            cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 255), thick, cv2.LINE_AA)
        pics.append(base + '_labels.png')
        cv2.imwrite(pics[-1], canvas)
    return pics
