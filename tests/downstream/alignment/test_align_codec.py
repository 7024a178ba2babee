"""Codec: Gaussian targets, soft-argmax decoding, round trip on the 512² crop."""

import numpy as np
import pytest
import torch

from mcf_mm.downstream.alignment.codec import FaRLHeatmapCodec, gaussian_heatmaps, soft_argmax


def test_soft_argmax_of_single_peak_returns_the_peak():
    probs = torch.zeros(2, 3, 112, 112)
    cells = [(5, 7), (60, 30), (111, 0)]  # (x, y)
    for k, (x, y) in enumerate(cells):
        probs[:, k, y, x] = 0.9
    out = soft_argmax(probs)  # [2, 3, 2]
    expected = torch.tensor([[(x + 0.5) / 112, (y + 0.5) / 112] for x, y in cells])
    torch.testing.assert_close(out[0], expected)
    torch.testing.assert_close(out[1], expected)


def test_soft_argmax_of_symmetric_blob_returns_its_centre():
    yy, xx = torch.meshgrid(torch.arange(112.0), torch.arange(112.0), indexing='ij')
    blob = torch.exp(-((xx - 40) ** 2 + (yy - 71) ** 2) / 8.0)[None, None]  # centred on cell (40, 71)
    torch.testing.assert_close(soft_argmax(blob)[0, 0], torch.tensor([40.5 / 112, 71.5 / 112]))


def test_targets_peak_sigma_truncation_and_max_combination():
    codec = FaRLHeatmapCodec(input_size=512, heatmap_size=128, sigma=1.25, radius=5.0)
    kpts = np.array([[[50 * 4 + 1.5, 20 * 4 + 1.5]]])  # crop pixel on the centre of cell (50, 20)
    maps = codec.encode(kpts)['heatmaps']  # [1, 128, 128]
    assert maps.shape == (1, 128, 128)
    assert maps[0, 20, 50] == pytest.approx(1.0)
    assert maps[0, 20, 51] == pytest.approx(np.exp(-1 / (2 * 1.25**2)))
    assert maps[0, 20, 55] > 0 and maps[0, 20, 56] == 0  # radius 5 cells
    assert maps[0, 24, 54] == 0  # sqrt(32) > 5
    two = gaussian_heatmaps(np.array([[[0.2, 0.2]], [[0.21, 0.2]]]), (128, 128), 1.25, 5.0)
    one = gaussian_heatmaps(np.array([[[0.2, 0.2]]]), (128, 128), 1.25, 5.0)
    other = gaussian_heatmaps(np.array([[[0.21, 0.2]]]), (128, 128), 1.25, 5.0)
    np.testing.assert_allclose(two, np.maximum(one, other))


def test_encode_decode_round_trip_within_half_pixel():
    codec = FaRLHeatmapCodec(input_size=512, heatmap_size=128, sigma=1.25, radius=5.0)
    rng = np.random.default_rng(1)
    kpts = rng.uniform(30, 480, size=(1, 68, 2))
    enc = codec.encode(kpts, np.ones((1, 68)))
    np.testing.assert_allclose(enc['keypoint_labels'], (kpts + 0.5) / 512, rtol=1e-6)
    dec, scores = codec.decode(enc['heatmaps'], is_logits=False)
    assert dec.shape == (1, 68, 2) and scores.shape == (1, 68)
    assert np.abs(dec - kpts).max() < 0.5


def test_decode_accepts_logits_of_another_map_size():
    codec = FaRLHeatmapCodec(input_size=512, heatmap_size=128)
    logits = np.full((1, 112, 112), -30.0)
    logits[0, 10, 100] = 30.0
    dec, _ = codec.decode(logits)
    np.testing.assert_allclose(dec[0, 0], [(100.5 / 112) * 512 - 0.5, (10.5 / 112) * 512 - 0.5], atol=1e-6)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'\[N, K, 2\]'):
        FaRLHeatmapCodec().encode(np.zeros((5, 2)))
