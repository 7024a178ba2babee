"""Metrics of the face classification and regression tasks."""

from . import anti_spoofing, attributes, regression  # noqa: F401
