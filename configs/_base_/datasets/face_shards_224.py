# Pre-training data from img2dataset webdataset tar shards (<key>.jpg + <key>.json with the MTCNN detections,
# see tools/dataset_converters/crop_laion_face.py): FaceShardDataset crops each sample's largest face on the fly
# (margin 0.3, 224 px), the same resize/flip as face_pretrain_224.py. ShardSampler gives each rank a contiguous
# run of shards in a per-epoch seeded order (no sample twice in an epoch), drop_bad_collate drops the samples that
# cannot be read (counted by SkippedImagesHook). Shards live under data/ (or $MCF_MM_DATA): configs/mcf/README.md.
# The shard recipe (configs/mcf/*laion-face-shards*.py) wraps the dataset in SampleSeededDataset and sets the
# sampler's sample_seeds=True (each sample's flip seeded by sampler seed, epoch and index: a resumed run flips as
# the uninterrupted one); here it stays plain, so tools that set train_dataloader.dataset.data_root (such as
# tools/analysis_tools/benchmark_data.py) read it directly.
data_root = '{{$MCF_MM_DATA:data}}/laion_face_shards/'
train_pipeline = [
    dict(type='Resize', scale=(224, 224), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['img_path', 'sample_idx']),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='ShardSampler', shuffle=True),
    collate_fn=dict(type='drop_bad_collate'),
    dataset=dict(
        type='FaceShardDataset',
        data_root=data_root,
        shards='*.tar',
        face='largest',
        on_bad='drop',
        pipeline=train_pipeline,
    ),
)
