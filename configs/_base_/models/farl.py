# FaRL's parts at every size: the CLIP image tower (./clip_vit.py) read at its final-normed [CLS] token, CLIP's
# text transformer (BPE vocabulary of 49408), image-text InfoNCE with a learnable temperature (initially
# 0.07) and the MIM head predicting the visual tokens of a frozen tokenizer that sees the same CLIP-normalised
# batch. The configs set the widths, depths, the tokenizer and its input size.
_base_ = ['./clip_vit.py']
model = dict(
    type='FaRL',
    data_preprocessor=dict(type='SelfSupDataPreprocessor'),
    backbone=dict(final_norm=True, out_type='cls_token'),
    text_encoder=dict(type='CLIPTextTransformer', vocab_size=49408),
    itc_loss=dict(type='ImageTextContrastiveLoss', init_temperature=0.07),
    head=dict(type='FaRLMIMHead'),
    target_generator=dict(type='VisualTokenizer', data_mean={{_base_.clip_mean}}, data_std={{_base_.clip_std}}),
)
