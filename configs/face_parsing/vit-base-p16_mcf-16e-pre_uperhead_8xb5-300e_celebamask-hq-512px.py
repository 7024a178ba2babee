# MCF / FaRL face parsing on CelebAMask-HQ (19 classes): same model and schedule as LaPa, no tanh warp.
# Metric: mean F1 over the 18 non-background classes at 512 px (published: FaRL 89.56, best test epoch).
_base_ = ['./_base_/vit-base-p16_mcf-16e-pre_uperhead_300e.py', './_base_/datasets/celebamask_hq.py']
model = dict(decode_head=dict(num_classes=19))
# FaRL's scorer: a foreground class absent from both prediction and label makes the mean F1 NaN (the CPU
# configs keep absent='skip': the mean over the classes that occur; mF1.num_classes says how many).
val_evaluator = dict(absent='nan')
test_evaluator = dict(absent='nan')
