# FaRL's train-time photometric augmenters for alignment (its `augmenters/train.yaml`), as replacements for the
# shared pipeline's transforms of the same type: a black occlusion always (FaRL's size law: law='blueprint';
# the shared pipeline's value: prob 0.5, law='uniform'), noise blend p 0.5 with alpha ~ U(0, 0.5) (shared:
# p 0.3, U(0, 0.3)), grey p 0.1 (equal), gamma always one of sqrt / identity / square (`FaceRandomGamma`, the
# parsing transform; shared: `RandomGamma`, p 0.5, log-uniform), box blur always with k = int(512 U(0, 0.01)),
# applied when k > 1 (`FaceRandomBlur`; shared: `RandomBlur`, p 0.3, Gaussian). The ViT-B/16 reproduction
# configs apply it; the CPU (Helen-29) configs keep the shared pipeline.
farl_photometric = dict(
    RandomOcclusion=dict(type='RandomOcclusion', prob=1.0, law='blueprint'),
    NoiseBlend=dict(type='NoiseBlend', prob=0.5, max_alpha=0.5),
    RandomGray=dict(type='RandomGray', prob=0.1),
    RandomGamma=dict(type='FaceRandomGamma'),
    RandomBlur=dict(type='FaceRandomBlur', max_ratio=0.01),
)
