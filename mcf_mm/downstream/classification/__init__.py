"""mmpretrain plugin for face classification and regression: expression, attributes, anti-spoofing, age,
gender and race, head pose.

Import it through ``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.classification'])``: it registers
the datasets, transforms, heads, samplers and metrics into mcf_mm's registries (children of mmpretrain's, so
mmpretrain's own classifiers, heads and metrics resolve in the same configs).
"""

from . import datasets, heads, metrics, samplers, transforms  # noqa: F401
from .transforms import CropFaceBox

__all__ = ['CropFaceBox']
