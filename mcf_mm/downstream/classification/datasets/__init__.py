"""Face classification and regression datasets, each reading its release's original files."""

from .affectnet import AffectNetDataset
from .aflw2000_pose import HeadPoseMatDataset
from .anti_spoofing import AntiSpoofingDataset, LoadVideoFrame
from .celeba import CelebAAttrDataset
from .raf_db import RAFDBDataset
from .utkface import UTKFaceDataset

__all__ = [
    'AffectNetDataset',
    'AntiSpoofingDataset',
    'CelebAAttrDataset',
    'HeadPoseMatDataset',
    'LoadVideoFrame',
    'RAFDBDataset',
    'UTKFaceDataset',
]
