"""Inference APIs: ``mcf_mm.apis.alignment`` (mmpose landmarks) and ``mcf_mm.apis.parsing`` (mmseg masks).

Import the submodule you need; each pulls in its own OpenMMLab stack.
"""
