# The MCF reproduction recipe (mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py, unchanged model,
# optimiser and schedule) on img2dataset tar shards: the data of configs/_base_/datasets/face_shards_224.py
# (FaceShardDataset + ShardSampler + drop_bad_collate), a loop that resumes in the middle of an epoch at the next
# unseen batch, and a mid-epoch checkpoint every 1000 iterations besides the epoch ones.
#   tools/dist_train.sh configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-shards-224px.py 8
#   ... --resume   (after an interruption: continues from the newest checkpoint, mid-epoch ones included)
# A mid-epoch resume needs the same number of GPUs, batch size, sampler seed and shards; otherwise it is refused
# (resume from an epoch_*.pth instead). 1000 is a multiple of accumulative_counts=8: a mid-epoch checkpoint never
# falls inside an accumulation window, so the resumed run also sums the same gradients (an epoch_*.pth does when
# the batches per epoch are not a multiple of 8: a resume from it loses that window's partial gradients).
# RNGStateHook (in the base's custom_hooks) stores every rank's RNG state (masks) in each checkpoint.
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']
# mmengine refuses two bases that define the same keys, so the shard data is restated here; the test
# tests/engine/test_shard_resume.py checks it is configs/_base_/datasets/face_shards_224.py's with the dataset
# wrapped in SampleSeededDataset and the sampler's sample_seeds=True: each sample's random flip is seeded by
# (sampler seed, epoch, index), so a resumed run flips every sample as the uninterrupted run does.
data_root = '{{$MCF_MM_DATA:data}}/laion_face_shards/'
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ShardSampler', shuffle=True, sample_seeds=True),
    collate_fn=dict(_delete_=True, type='drop_bad_collate'),
    dataset=dict(
        _delete_=True,
        type='SampleSeededDataset',
        dataset=dict(
            type='FaceShardDataset',
            data_root=data_root,
            shards='*.tar',
            face='largest',
            on_bad='drop',
            pipeline=_base_.train_pipeline,
        ),
    ),
)
train_cfg = dict(type='ResumableEpochBasedTrainLoop')
mid_epoch_interval = 1000  # iterations
# The newest 3 epoch checkpoints (epoch_*.pth) and the newest 2 mid-epoch ones (iter_*.pth) are kept: each
# CrashSafeCheckpointHook keeps its own list (tests/engine/test_checkpoint_keep.py).
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
custom_hooks = _base_.custom_hooks + [
    dict(type='CrashSafeCheckpointHook', by_epoch=False, interval=mid_epoch_interval, max_keep_ckpts=2, save_last=False)
]
