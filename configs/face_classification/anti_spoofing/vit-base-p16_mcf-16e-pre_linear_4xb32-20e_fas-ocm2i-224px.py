# Cross-domain face anti-spoofing OCM->I: train on O + C + M, test on Replay-Attack (leave-one-out, ViT-B/16 from MCF,
# 16 pre-training epochs, 224 px, 4 GPUs x 32 frames, 20 epochs). Test set: Replay-Attack (every group but devel) +
# the held-out source data OULU-NPU Dev; reported: HTER at the threshold fixed on that source data (the
# source EER threshold), with AUC, target EER and the optimistic HTER@target_EER beside (video level).
# Published MCF-family HTER: 8.02 (not reproduced here).
_base_ = ['./_base_/vit-base-p16_fas.py', './_base_/fas-leave-one-out.py']
train_dataloader = dict(dataset=dict(datasets=[_base_.train_sets.oulu, _base_.train_sets.casia, _base_.train_sets.msu]))
test_dataloader = dict(dataset=dict(datasets=[_base_.target_sets.replay, _base_.calib_sets.oulu]))
val_dataloader = test_dataloader
test_evaluator = dict(
    type='AntiSpoofingMetric', target_domain='replay-attack', threshold='source_eer', video_level=True
)
val_evaluator = test_evaluator
