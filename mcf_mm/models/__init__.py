"""Model parts of MCF and FaRL, by kind; importing this package registers them in ``mcf_mm``'s scope."""

from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
from .target_generators import *  # noqa: F401,F403
