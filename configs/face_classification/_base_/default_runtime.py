# Runtime of the face classification / regression configs: mcf_mm's mmpretrain runtime plus the classification
# plugin (datasets, transforms, heads, samplers, metrics of mcf_mm.downstream.classification).
_base_ = ['../../_base_/default_runtime.py']

custom_imports = dict(
    imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.datasets', 'mcf_mm.engine', 'mcf_mm.downstream.classification'],
    allow_failed_imports=False,
)
# One checkpoint per epoch, only the last one kept (the face protocols report the final epoch).
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
