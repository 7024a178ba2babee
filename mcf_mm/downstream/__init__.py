"""Downstream plugins: face alignment (mmpose) and face parsing (mmseg).

Import the plugin a config needs through ``custom_imports``, e.g.
``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.alignment'])``; each registers into its host's
registries.
"""
