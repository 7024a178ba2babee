"""Face classification and regression datasets, each reading its release's original files."""

from . import affectnet, aflw2000_pose, anti_spoofing, celeba, raf_db, utkface  # noqa: F401
