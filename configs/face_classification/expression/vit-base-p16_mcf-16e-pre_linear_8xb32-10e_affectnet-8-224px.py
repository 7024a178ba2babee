# AffectNet-8: as the AffectNet-7 config with Contempt kept (8 classes; 4,000 test images).
_base_ = ['./vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-7-224px.py']
affectnet_classes = 8
model = dict(head=dict(num_classes=affectnet_classes))
train_dataloader = dict(dataset=dict(num_classes=affectnet_classes))
val_dataloader = dict(dataset=dict(num_classes=affectnet_classes))
test_dataloader = val_dataloader
