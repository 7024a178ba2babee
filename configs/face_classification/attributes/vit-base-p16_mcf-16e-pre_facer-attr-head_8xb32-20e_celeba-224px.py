# CelebA 40 attributes with facer's attribute head (projects/facer_attribute_head: for each of blocks 5, 7, 9,
# 11 the mean- and max-pooled patch tokens and the CLS token, each layer-normed, softmax-weighted, dropout 0.1,
# linear; sigmoid BCE) on the ViT-B/16 from MCF; otherwise the recipe of
# vit-base-p16_mcf-16e-pre_linear_8xb32-20e_celeba-224px.py. The backbone returns raw tokens of the four blocks.
# The head comes from the project folder: run from the repository root (tools/train.py puts it on sys.path).
_base_ = ['./_base_/vit-base-p16_mae-ft_multilabel.py', './_base_/celeba.py']
custom_imports = dict(
    imports=[
        'mcf_mm',
        'mcf_mm.models',
        'mcf_mm.datasets',
        'mcf_mm.engine',
        'mcf_mm.downstream.classification',
        'projects.facer_attribute_head.facer_attr',
    ],
    allow_failed_imports=False,
)
model = dict(
    backbone=dict(out_type='raw', out_indices=(5, 7, 9, 11)),
    head=dict(_delete_=True, type='FacerAttributeHead', num_classes=40, in_channels=768, num_layers=4, dropout=0.1),
)
