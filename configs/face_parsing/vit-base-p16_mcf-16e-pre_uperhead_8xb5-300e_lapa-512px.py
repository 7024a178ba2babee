# MCF / FaRL face parsing on LaPa (11 classes): ViT-B/16 fine-tuned from MCF (16 pre-training epochs) at 448,
# blocks [3, 5, 7, 11], Feature2Pyramid + UPerHead, AdamW 1e-4 / 1e-3, 300 epochs (x0.1 at 200), EMA
# evaluated. Metric: mean F1 over the 10 face classes at original resolution (published: MCF 93.96,
# FaRL 93.88, best test epoch; this config reports the final epoch).
_base_ = ['./_base_/vit-base-p16_mcf-16e-pre_uperhead_300e.py', './_base_/datasets/lapa.py']
model = dict(decode_head=dict(num_classes=11))
# FaRL's scorer: a foreground class absent from both prediction and label makes the mean F1 NaN (the CPU
# configs keep absent='skip': the mean over the classes that occur; mF1.num_classes says how many).
val_evaluator = dict(absent='nan')
test_evaluator = dict(absent='nan')
