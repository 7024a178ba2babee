"""Zero-shot attribute classification with a FaRL checkpoint: score each image against one caption per class
("a photo of a man." / "a photo of a woman." ...) and report the accuracy per task on UTKFace-named images.

Usage:
  python tools/analysis_tools/zero_shot_eval.py CONFIG CKPT IMG_DIR [--exclude-shards SHARD_DIR] [--limit 600]
Pass no CKPT ('none') to measure the randomly initialised model (chance level).
"""

import argparse
import json
import os
import os.path as osp
import tarfile
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mcf_mm  # noqa: F401
from mcf_mm.checkpoint import load_model_weights
from mcf_mm.utils.cli import run_cli

TASKS = {
    'gender': (['a photo of a man.', 'a photo of a woman.'], lambda age, g, r: g),
    'race': (
        [
            'a photo of a white person.',
            'a photo of a black person.',
            'a photo of an asian person.',
            'a photo of an indian person.',
        ],
        lambda age, g, r: r if r < 4 else None,
    ),
    'age': (
        ['a photo of a child.', 'a photo of an adult.', 'a photo of an elderly person.'],
        lambda age, g, r: 0 if age < 13 else (2 if age >= 60 else (1 if 20 <= age < 60 else None)),
    ),
}


def used_sources(shard_dir: str) -> set:
    names = set()
    for name in os.listdir(shard_dir):
        if name.endswith('.tar'):
            with tarfile.open(osp.join(shard_dir, name)) as tar:
                for m in tar:
                    if m.name.endswith('.json'):
                        names.add(json.load(tar.extractfile(m))['source'])
    return names


@torch.no_grad()
def evaluate(
    config: str, ckpt: Optional[str], img_dir: str, exclude: Optional[str] = None, limit: int = 600, seed: int = 0
) -> Dict[str, float]:
    cfg = Config.fromfile(config)
    for mod in cfg.get('custom_imports', {}).get('imports', []):
        __import__(mod)
    from mcf_mm.datasets import get_tokenizer
    from mcf_mm.registry import MODELS

    with DefaultScope.overwrite_default_scope('mcf_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    if ckpt and ckpt != 'none':  # read safely; the frozen tokenizer is re-read from its own checkpoint
        # the MIM parts are unused here: a converted FaRL release (convert.py --source farl) has none
        load_model_weights(model, ckpt, 'a FaRL model of this config', optional=('mask_token', 'head.'))
    model.eval()
    skip = used_sources(exclude) if exclude else set()
    names = sorted(n for n in os.listdir(img_dir) if n.endswith('.jpg') and n not in skip)
    names = [names[i] for i in np.random.default_rng(seed).permutation(len(names))[:limit]]
    size = cfg.model.backbone.img_size
    pre = cfg.model.data_preprocessor
    mean, std = torch.tensor(pre.mean).view(1, 3, 1, 1), torch.tensor(pre.std).view(1, 3, 1, 1)
    imgs = [cv2.cvtColor(cv2.resize(cv2.imread(osp.join(img_dir, n)), (size, size)), cv2.COLOR_BGR2RGB) for n in names]
    x = (torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() - mean) / std  # [N, 3, H, W]
    img_emb = torch.cat([model.encode_image(b) for b in x.split(64)])
    img_emb = torch.nn.functional.normalize(img_emb, dim=-1)
    tok = get_tokenizer(None, cfg.model.text_encoder.context_length)
    labels = [tuple(int(v) for v in n.split('_')[:3]) for n in names]
    results = {}
    for task, (prompts, label_of) in TASKS.items():
        txt = torch.nn.functional.normalize(model.encode_text(tok(prompts)), dim=-1)  # [C, E]
        pred = (img_emb @ txt.t()).argmax(dim=1)  # [N]
        keep = [(i, label_of(*lab)) for i, lab in enumerate(labels) if label_of(*lab) is not None]
        acc = float(np.mean([int(pred[i]) == y for i, y in keep]))
        counts = np.bincount([y for _, y in keep], minlength=len(prompts))
        results[task] = acc
        results[f'{task}_majority'] = float(counts.max() / counts.sum())
        results[f'{task}_n'] = len(keep)
    return results


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description='Zero-shot attribute accuracy of a FaRL checkpoint.')
    parser.add_argument('config')
    parser.add_argument('ckpt')
    parser.add_argument('img_dir')
    parser.add_argument('--exclude-shards', help='skip images whose names appear in these training shards')
    parser.add_argument('--limit', type=int, default=600)
    args = parser.parse_args(argv)
    res = evaluate(args.config, args.ckpt, args.img_dir, args.exclude_shards, args.limit)
    for task in TASKS:
        print(
            f'{task}: zero-shot accuracy {res[task]:.3f} on {res[task + "_n"]} images '
            f'(majority class {res[task + "_majority"]:.3f}, chance {1 / len(TASKS[task][0]):.3f})'
        )
    return res


if __name__ == '__main__':
    run_cli(main)
