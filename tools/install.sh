#!/usr/bin/env bash
# One-step install of mcf_mm and the OpenMMLab stack into the active Python environment.
# Order matters (see README "Install"): torch first, then plain deps, then the mm* packages with --no-deps
# (their declared deps would pull opencv-python, chumpy and a different torch), then mcf_mm itself, then the
# mmcv._ext stand-in for mmcv-lite.
# Environment: PYTHON (default python), TORCH_SPEC (default the CPU-runnable pair below; set e.g.
# "torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126" on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
$PY -m pip install --upgrade "pip>=23" wheel
$PY -m pip install $TORCH_SPEC
$PY -m pip install -r requirements/runtime.txt -r requirements/tests.txt
$PY -m pip install --no-deps -r requirements/mminstall.txt
# the MTCNN face detector (weights in its wheel), with --no-deps: see requirements/detector.txt
$PY -m pip install --no-deps -r requirements/detector.txt
$PY -m pip install --no-deps --no-build-isolation -e .
# mmcv-lite ships no compiled ops, yet mmseg/mmpose models import mmcv.ops: write the pure-Python mmcv._ext
# stand-in (a no-op with full mmcv; `python -m mcf_mm.utils.mmcv_ext_stub uninstall` removes it).
$PY -m mcf_mm.utils.mmcv_ext_stub install
# a fresh interpreter, without mcf_mm, must import the OpenMMLab inferencers
$PY -c "from mmpose.apis import MMPoseInferencer; from mmseg.apis import MMSegInferencer; import mmpretrain"
$PY -c "from facenet_pytorch import MTCNN; import onnxruntime"
$PY -c "import mcf_mm; print('mcf_mm', mcf_mm.__version__, 'installed')"
