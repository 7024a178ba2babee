"""The frozen teacher's resize of a non-native input: nearest (the original MCF code) or bilinear."""

import pytest
import torch
import torch.nn.functional as F

import mcf_mm  # noqa: F401
from mcf_mm.models.target_generators import FrozenViTTeacher


def teacher(path: str, mode: str) -> FrozenViTTeacher:
    return FrozenViTTeacher(path, out_indices=(0, 1), img_size=32, num_heads=2, resize_mode=mode)


@pytest.mark.parametrize('size', [16, 48, 40])
def test_nearest_resize_feeds_what_f_interpolate_nearest_gives(tiny_teacher, size):
    torch.manual_seed(0)
    img = torch.randn(2, 3, size, size)  # [N, 3, H, W], not the teacher's 32 px
    near, bil = teacher(tiny_teacher, 'nearest'), teacher(tiny_teacher, 'bilinear')
    want_near = near(F.interpolate(img, size=(32, 32), mode='nearest'))  # already 32 px: no resize inside
    want_bil = near(F.interpolate(img, size=(32, 32), mode='bilinear', align_corners=False))
    for got, want in zip(near(img), want_near):
        assert torch.equal(got, want)
    for got, want in zip(bil(img), want_bil):
        assert torch.equal(got, want)
    assert not torch.allclose(near(img)[1], bil(img)[1])


def test_nearest_doubling_repeats_each_pixel(tiny_teacher):
    img = torch.randn(1, 3, 16, 16)
    doubled = img.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)  # [1, 3, 32, 32]
    model = teacher(tiny_teacher, 'nearest')
    for got, want in zip(model(img), model(doubled)):
        assert torch.equal(got, want)


def test_bad_resize_mode_is_refused(tiny_teacher):
    with pytest.raises(ValueError, match='resize_mode'):
        teacher(tiny_teacher, 'bicubic')
