"""Every transformer of mcf_mm runs its attention through PyTorch's fused ``scaled_dot_product_attention``.

The profiler names each dispatched op, so counting ``aten::scaled_dot_product_attention`` per forward (and
finding no ``aten::softmax``, which a hand-written softmax(QKᵀ)V attention would call) shows which path ran,
whatever Python name a module bound the function to (mmpretrain binds it at import).
"""

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.profiler import profile

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.models.backbones import CLIPTextTransformer, FaceViT
from mcf_mm.models.heads.farl_mim_head import FaRLMIMHead
from mcf_mm.models.necks.mae_decoder import FaceMAEDecoder
from mcf_mm.registry import MODELS

SDPA = 'aten::scaled_dot_product_attention'
SDPA_BACKWARD = 'aten::_scaled_dot_product_flash_attention_for_cpu_backward'


def op_counts(fn) -> dict:
    with profile() as prof:
        fn()
    return {e.key: e.count for e in prof.key_averages()}


def assert_fused(counts: dict, attention_layers: int) -> None:
    assert counts.get(SDPA, 0) == attention_layers, counts.get(SDPA)
    assert counts.get('aten::softmax', 0) == 0 and counts.get('aten::_softmax', 0) == 0


def test_face_vit_all_feature_paths():
    """Online/target encoder (forward_masked), downstream ViTs (forward, get_intermediate_layers)."""
    vit = FaceViT(arch=TINY_ARCH, img_size=32, patch_size=8, out_indices=(0, 1), out_type='featmap')
    img = torch.randn(2, 3, 32, 32)
    layers = TINY_ARCH['num_layers']
    assert_fused(op_counts(lambda: vit.forward_masked(img)), layers)
    assert_fused(op_counts(lambda: vit(img)), layers)
    assert_fused(op_counts(lambda: vit.get_intermediate_layers(img, (0,))), 1)  # stops after block 0
    vit.eval()
    with torch.no_grad():
        assert_fused(op_counts(lambda: vit(img)), layers)


def test_mae_decoder():
    dec = FaceMAEDecoder(
        num_patches=16, patch_size=8, embed_dim=32, decoder_embed_dim=32, decoder_depth=3, decoder_num_heads=2
    )
    dec.init_weights()
    vit = FaceViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    tokens, _, ids_restore = vit.forward_masked(torch.randn(2, 3, 32, 32))
    assert_fused(op_counts(lambda: dec(tokens, ids_restore)), 3)


def test_text_tower_and_farl_mim_head():
    text = CLIPTextTransformer(vocab_size=100, context_length=8, width=32, layers=3, heads=2, embed_dim=16)
    tokens = torch.randint(1, 99, (2, 8))
    assert_fused(op_counts(lambda: text(tokens)), 3)  # nn.MultiheadAttention(need_weights=False) -> SDPA
    head = FaRLMIMHead(embed_dims=32, vocab_size=7, num_layers=2, num_heads=2)
    assert_fused(op_counts(lambda: [m(torch.randn(2, 5, 32)) for m in head.blocks]), 2)


def test_mcf_step_every_part_forward_and_backward(tiny_config):
    """One MCF loss + backward: online encoder, decoder, teacher (two passes or one) and target encoder."""
    cfg = Config.fromfile(tiny_config())
    init_default_scope('mcf_mm')
    model = MODELS.build(cfg.model)
    model.init_weights()
    img = torch.randn(2, 3, 32, 32)
    enc = cfg.model.backbone.arch.num_layers
    dec = cfg.model.neck.decoder_depth
    teacher = model.target_generator.vit.num_layers  # the teacher runs all its blocks up to its last output
    teacher_used = max(model.target_generator.out_indices) + 1
    assert teacher_used == teacher
    for mode, teacher_passes in (('separate', 2), ('concat', 1)):
        model.teacher_batch = mode

        def step():
            sum(model.loss(img, None).values()).backward()

        counts = op_counts(step)
        assert_fused(counts, enc + dec + teacher_passes * teacher + enc)  # online + decoder + teacher + target
        # backward through the online encoder, the decoder and the teacher's pseudo pass (the target is no-grad)
        assert counts.get(SDPA_BACKWARD, 0) == enc + dec + teacher, counts.get(SDPA_BACKWARD)
