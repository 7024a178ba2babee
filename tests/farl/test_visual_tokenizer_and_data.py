"""Visual tokenizers loaded from checkpoints; the tar-shard image-text dataset."""

import importlib.util
import io
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import mcf_mm  # noqa: F401
from mcf_fixtures.tar_shards import png_bytes, write_shards
from mcf_mm.datasets import ImageTextTarDataset, expand_shards
from mcf_mm.models import VisualTokenizer, fit_patch_kmeans
from mcf_mm.models.target_generators.visual_tokenizer import patchify

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MEAN, STD = (120.0, 110.0, 100.0), (60.0, 50.0, 40.0)


def normalise(pixels01: torch.Tensor) -> torch.Tensor:
    return (pixels01 * 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def test_kmeans_tokenizer_ids_are_nearest_codes(tmp_path):
    g = torch.Generator().manual_seed(0)
    pixels = torch.rand(2, 3, 32, 32, generator=g)
    codebook = fit_patch_kmeans(patchify(pixels, 8).flatten(0, 1), num_tokens=5, iters=5)  # [5, 192]
    path = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': codebook}}, path)
    tok = VisualTokenizer(
        dict(type='PatchKMeansEncoder', patch_size=8, num_tokens=5),
        path,
        input_size=32,
        data_mean=MEAN,
        data_std=STD,
        pixel_map='unit',
    )
    ids = tok(normalise(pixels))  # [2, 16]
    patches = patchify(pixels, 8)  # [2, 16, 192]
    want = ((patches[:, :, None] - codebook[None, None]) ** 2).sum(-1).argmin(-1)  # brute force
    assert ids.shape == (2, 16) and torch.equal(ids, want)
    assert tok.state_dict() == {}  # frozen tokenizer stays out of training checkpoints


def test_dalle_tokenizer_from_checkpoint(tmp_path):
    from mmengine.registry import DefaultScope

    from mcf_mm.registry import MODELS

    with DefaultScope.overwrite_default_scope('mcf_mm'):
        cfg = dict(type='DALL-E', group_count=4, n_hid=4, n_blk_per_group=1, vocab_size=16)
        enc = MODELS.build(cfg)
        path = str(tmp_path / 'dalle.pth')
        torch.save({'state_dict': {'encoder.' + k: v for k, v in enc.state_dict().items()}}, path)
        tok = VisualTokenizer(cfg, path, prefix='encoder.', input_size=32, data_mean=MEAN, data_std=STD)
    pixels = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = enc(0.8 * pixels + 0.1).argmax(1).flatten(1)  # DALL-E map_pixels, eps 0.1
    torch.testing.assert_close(tok(normalise(pixels)), want)
    with pytest.raises(ValueError, match='does not fit the encoder'):  # wrong prefix -> clear error
        with DefaultScope.overwrite_default_scope('mcf_mm'):
            VisualTokenizer(cfg, path, prefix='', input_size=32)


def test_tar_dataset_reads_pairs(tmp_path):
    write_shards(tmp_path)
    assert expand_shards('{00000..00001}.tar', str(tmp_path)) == [
        str(tmp_path / '00000.tar'),
        str(tmp_path / '00001.tar'),
    ]
    ds = ImageTextTarDataset(
        shards='{00000..00001}.tar', data_root=str(tmp_path), pipeline=[dict(type='TokenizeText', context_length=12)]
    )
    assert len(ds) == 6
    item = ds[4]
    key = item['key']
    s, i = int(key[:4]), int(key[4:])
    assert item['text'] == f'face number {s * 10 + i}'
    want = np.asarray(Image.open(io.BytesIO(png_bytes(s * 10 + i))))[:, :, ::-1]  # BGR
    assert np.array_equal(item['img'], want)
    from mcf_mm.datasets import get_tokenizer

    assert torch.equal(item['text_tokens'], get_tokenizer(None, 12)(item['text'])[0])


def test_tar_dataset_skips_corrupt_images(tmp_path):
    write_shards(tmp_path, shards=1, corrupt_key='000000001')
    ds = ImageTextTarDataset(shards='*.tar', data_root=str(tmp_path))
    keys = [ds.get_data_info(i)['key'] for i in range(len(ds))]
    assert ds.prepare_data(keys.index('000000001')) is None and ds.num_skipped == 1
    assert ds[keys.index('000000001')]['key'] != '000000001'  # the base class draws another sample
    with pytest.raises(FileNotFoundError, match='no tar shards match'):
        ImageTextTarDataset(shards='*.tar', data_root=str(tmp_path / 'nowhere'))


def test_shard_writer_tool_layout(tmp_path):
    tool = osp.join(ROOT, 'tools', 'dataset_converters', 'make_image_text_shards.py')
    spec = importlib.util.spec_from_file_location('mk', tool)
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    assert mk.utkface_caption('26_1_2_2017.jpg.chip.jpg') in {
        t.format(a=a, age='26', race='asian', who='woman') for t in mk.TEMPLATES for a in ('a', 'an')
    }
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    for i, name in enumerate(['8_0_0_x.jpg.chip.jpg', '70_1_1_y.jpg.chip.jpg', 'bad_name.jpg']):
        (img_dir / name).write_bytes(png_bytes(i))
    paths = mk.main([str(img_dir), str(tmp_path / 'out'), '--captions', 'utkface', '--per-shard', '1'])
    assert len(paths) == 2  # the unparsable name has no caption
    ds = ImageTextTarDataset(shards='*.tar', data_root=str(tmp_path / 'out'))
    texts = sorted(ds.prepare_data(i)['text'] for i in range(len(ds)))
    assert any('8-year-old' in t or 'aged 8' in t or '8 years' in t or 'boy' in t for t in texts)
    assert any('elderly woman' in t for t in texts)
