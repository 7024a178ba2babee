#!/usr/bin/env bash
# The README's main job: a short, real MCF pre-training on the face photographs bundled with scikit-image,
# on the CPU in a few minutes. Leaves checkpoints, logs and a PNG under work_dirs/demo/.
#   1. mmpretrain's MAE trains a tiny ViT: MCF's frozen teacher at this scale;
#   2. MCF pre-trains a tiny ViT with that teacher (checkpoints + logs in work_dirs/demo/mcf);
#   3. a PNG that shows whether it learned (input / masked input / pseudo image, the loss curves, and the
#      teacher-feature agreement of pseudo vs real image before and after training; numbers also in
#      reconstruction.json), the loss curves one PNG per key, and the extracted backbone for fine-tuning.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
W=${WORK_DIR:-work_dirs/demo}
CFG=configs/mcf/cpu_demo
$PY tools/train.py $CFG/mae_vit-demo-p4_1xb32-30e_skimage-faces-32px.py --work-dir "$W/mae_teacher"
$PY tools/train.py $CFG/mcf_vit-demo-p4_1xb32-30e_skimage-faces-32px.py --work-dir "$W/mcf" \
    --cfg-options model.target_generator.checkpoint="$W/mae_teacher/epoch_30.pth"
$PY tools/visualization/visualize_reconstruction.py $CFG/mcf_vit-demo-p4_1xb32-30e_skimage-faces-32px.py \
    "$W/mcf/epoch_30.pth" --out "$W/mcf/reconstruction.png" \
    --cfg-options model.target_generator.checkpoint="$W/mae_teacher/epoch_30.pth"
$PY tools/analysis_tools/plot_curves.py "$W/mcf" --out-dir "$W/mcf/curves" --keys loss_mim loss_contrast lr
$PY tools/model_converters/convert.py "$W/mcf/epoch_30.pth" "$W/mcf/backbone.pth" --num-heads 3
echo "done: checkpoint $W/mcf/epoch_30.pth, logs $W/mcf/*/, picture $W/mcf/reconstruction.png" \
     "(numbers: reconstruction.json), curves $W/mcf/curves/, backbone $W/mcf/backbone.pth"
