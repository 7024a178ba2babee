"""Shared tiny fixtures of the FaRL tests (2 layers, 32 dims, 32 px)."""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'checkpoint'))  # foreign_vits
