from .mae_decoder import FaceMAEDecoder
from .projection_mlp import ProjectionMLP

__all__ = ['FaceMAEDecoder', 'ProjectionMLP']
