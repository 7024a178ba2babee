# Expression recognition on AffectNet-7 (manually annotated; Contempt and 8+ dropped; validation.csv = the
# official test set, 3,500 images): the ViT-B/16 from MCF (16 pre-training epochs) fine-tuned end to end at 224 px
# on the CSV's face boxes, class-balanced sampling (ClassBalancedSampler, epoch = len(training set) draws),
# 8 GPUs x 32 images, 10 epochs (1 warm-up epoch from 1e-4 x lr, then cosine to 1e-6, by iteration). The test set
# is evaluated once, after the last epoch; metrics: accuracy (accuracy/top1; with 500 test images per class it
# equals the mean class accuracy) and mean class accuracy (mean-class-accuracy/recall).
# Published MCF-family result: 60.98 (not reproduced here).
_base_ = ['./_base_/vit-base-p16_mae-ft.py', './_base_/affectnet.py']
affectnet_classes = 7
max_epochs = 10
warmup_epochs = 1
model = dict(head=dict(num_classes=affectnet_classes))
train_dataloader = dict(dataset=dict(num_classes=affectnet_classes))
val_dataloader = dict(dataset=dict(num_classes=affectnet_classes))
test_dataloader = val_dataloader
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], T_max=max_epochs - warmup_epochs, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
