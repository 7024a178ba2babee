"""Metrics of the face classification and regression tasks (accuracy and mean class accuracy are mmpretrain's)."""

from .anti_spoofing import AntiSpoofingMetric
from .attributes import MeanAttributeAccuracy
from .regression import RegressionMAE

__all__ = ['AntiSpoofingMetric', 'MeanAttributeAccuracy', 'RegressionMAE']
