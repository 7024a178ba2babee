# Expression recognition on RAF-DB basic (7 classes): the ViT-B/16 from MCF (16 pre-training epochs) fine-tuned
# end to end at 224 px, 8 GPUs x 32 images, 30 epochs (3 warm-up epochs from 1e-4 x lr, then cosine to 1e-6, by
# iteration). The test set is evaluated once, after the last epoch (RAF-DB has no validation split); metrics:
# overall accuracy (accuracy/top1) and mean class accuracy (mean-class-accuracy/recall).
# Published MCF-family result: 86.86 (not reproduced here).
_base_ = ['./_base_/vit-base-p16_mae-ft.py', './_base_/raf_db.py']
max_epochs = 30
warmup_epochs = 3
model = dict(head=dict(num_classes=7))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], T_max=max_epochs - warmup_epochs, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
