# The demo-sized ViT of every CPU config (pre-training demos, small-scale pre-training, Helen-29, FASSEG,
# UTKFace, the FaRL demo, projects/): 96 dims, 4 blocks, 3 heads, MLP 384. Each config sets its own image and
# patch size.
demo_arch = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
