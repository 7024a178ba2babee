"""facer-style face-attribute head and mean attribute accuracy, registered into mcf_mm from outside the core.

Import it with ``custom_imports=dict(imports=['projects.facer_attribute_head.facer_attr'])``.
"""

from .head import FacerAttributeHead
from .metric import MeanAttributeAccuracy

__all__ = ['FacerAttributeHead', 'MeanAttributeAccuracy']
