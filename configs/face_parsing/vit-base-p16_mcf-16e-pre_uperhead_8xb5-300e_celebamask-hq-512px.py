# MCF / FaRL face parsing on CelebAMask-HQ (19 classes): same model and schedule as LaPa, no tanh warp.
# Metric: mean F1 over the 18 non-background classes at 512 px (published: FaRL 89.56, best test epoch).
_base_ = [
    './_base_/default_runtime.py',
    './_base_/models/vit-base-p16_uperhead.py',
    './_base_/datasets/celebamask_hq.py',
    './_base_/schedules/adamw_300e.py',
]
model = dict(decode_head=dict(num_classes=19))
