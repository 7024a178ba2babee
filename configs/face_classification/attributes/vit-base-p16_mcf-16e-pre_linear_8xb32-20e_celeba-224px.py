# CelebA 40 attributes: the ViT-B/16 from MCF (16 pre-training epochs) fine-tuned end to end at 224 px with
# mmpretrain's MultiLabelLinearClsHead (BCE) on the average-pooled patch tokens; 8 GPUs x 32 images, 20 epochs
# (2 warm-up epochs from 1e-4 x lr, then cosine to 1e-6, by iteration). Metric: mean attribute accuracy on the
# test split (MCF's paper: 91.33), the val split selects the checkpoint.
_base_ = ['./_base_/vit-base-p16_mae-ft_multilabel.py', './_base_/celeba.py']
