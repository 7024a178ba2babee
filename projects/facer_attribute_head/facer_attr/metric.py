"""Mean attribute accuracy now lives in mcf_mm's core classification plugin (one implementation); this module
re-exports it so that the project's imports and configs keep working. Importing it registers the core
plugin's modules (``mcf_mm.downstream.classification``)."""

from mcf_mm.downstream.classification.metrics.attributes import MeanAttributeAccuracy

__all__ = ['MeanAttributeAccuracy']
