# Cross-domain face anti-spoofing ICM->O: train on I + C + M, test on OULU-NPU (leave-one-out, ViT-B/16 from MCF,
# 16 pre-training epochs, 224 px, 4 GPUs x 32 frames, 20 epochs). Test set: OULU-NPU (every group but devel) +
# the held-out source data Replay-Attack devel; reported: HTER at the threshold fixed on that source data (the
# source EER threshold), with AUC, target EER and the optimistic HTER@target_EER beside (video level).
# Published MCF-family HTER: 10.7 (not reproduced here).
_base_ = ['./_base_/vit-base-p16_fas.py', './_base_/fas-leave-one-out.py']
train_dataloader = dict(
    dataset=dict(datasets=[_base_.train_sets.replay, _base_.train_sets.casia, _base_.train_sets.msu])
)
test_dataloader = dict(dataset=dict(datasets=[_base_.target_sets.oulu, _base_.calib_sets.replay]))
val_dataloader = test_dataloader
test_evaluator = dict(type='AntiSpoofingMetric', target_domain='oulu-npu', threshold='source_eer', video_level=True)
val_evaluator = test_evaluator
