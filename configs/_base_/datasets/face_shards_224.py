# Pre-training data from img2dataset webdataset tar shards (<key>.jpg + <key>.json with the MTCNN detections,
# see tools/dataset_converters/crop_laion_face.py): FaceShardDataset crops each sample's largest face on the fly
# (margin 0.3, 224 px), then face_pretrain_224.py's resize/flip. ShardSampler gives each rank a contiguous
# run of shards in a per-epoch seeded order (no sample twice in an epoch), drop_bad_collate drops the samples that
# cannot be read (counted by SkippedImagesHook). Shards live under data/ (or $MCF_MM_DATA): configs/mcf/README.md.
# The shard recipe (configs/mcf/*laion-face-shards*.py) wraps the dataset in SampleSeededDataset and sets the
# sampler's sample_seeds=True (each sample's flip seeded by sampler seed, epoch and index: a resumed run flips as
# the uninterrupted one); here it stays plain, so tools that set train_dataloader.dataset.data_root (such as
# tools/analysis_tools/benchmark_data.py) read it directly.
_base_ = ['./face_pretrain_224.py']  # its resize/flip pipeline and loader settings
data_root = '{{$MCF_MM_DATA:data}}/laion_face_shards/'
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ShardSampler', shuffle=True),
    collate_fn=dict(_delete_=True, type='drop_bad_collate'),
    dataset=dict(
        _delete_=True,
        type='FaceShardDataset',
        data_root=data_root,
        shards='*.tar',
        face='largest',
        on_bad='drop',
        pipeline=_base_.train_pipeline,
    ),
)
