"""Image-text loss equals the formula; MIM head loss equals CE on masked patches; text tower equals CLIP's."""

import math

import torch
import torch.nn.functional as F

import mcf_mm  # noqa: F401
from mcf_fixtures.foreign_vits import Transformer
from mcf_mm.models import CLIPTextTransformer, FaRLMIMHead, ImageTextContrastiveLoss


def test_itc_loss_equals_formula():
    img = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 2.0]])
    txt = torch.tensor([[0.8, 0.6, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 4.0]])
    loss_fn = ImageTextContrastiveLoss(init_temperature=0.07)
    # by hand: cosine similarities, scale 1/0.07, mean of the two directions' -log softmax at the diagonal
    ni = [[v / math.sqrt(sum(u * u for u in r)) for v in r] for r in img.tolist()]
    nt = [[v / math.sqrt(sum(u * u for u in r)) for v in r] for r in txt.tolist()]
    s = 1 / 0.07
    sim = [[s * sum(a * b for a, b in zip(ni[i], nt[j])) for j in range(3)] for i in range(3)]

    def ce(rows):
        return sum(-rows[i][i] + math.log(sum(math.exp(v) for v in rows[i])) for i in range(3)) / 3

    want = (ce(sim) + ce([list(col) for col in zip(*sim)])) / 2
    got = loss_fn(img, txt)
    assert abs(got.item() - want) < 1e-5
    got.backward()
    assert loss_fn.logit_scale.grad is not None and loss_fn.logit_scale.grad.abs() > 0  # learnable temperature


def test_itc_loss_scale_clamped():
    loss_fn = ImageTextContrastiveLoss(max_logit_scale=100.0)
    with torch.no_grad():
        loss_fn.logit_scale.fill_(10.0)  # exp(10) > 100
    x = torch.eye(2)
    li, lt, labels = loss_fn.logits(x, x)
    assert torch.allclose(li, 100.0 * torch.eye(2)) and labels.tolist() == [0, 1]


def test_mim_head_loss_is_masked_cross_entropy():
    torch.manual_seed(0)
    head = FaRLMIMHead(embed_dims=32, vocab_size=11, num_layers=1, num_heads=2)
    tokens = torch.randn(2, 1 + 4, 32)  # CLS + 2x2 patches
    target = torch.randint(0, 11, (2, 4))
    mask = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0]])
    out = head.loss(tokens, target, mask)
    logits = head(tokens)  # [2, 4, 11]
    picked = [(0, 0), (0, 3), (1, 1)]
    want = sum(F.cross_entropy(logits[n, t][None], target[n, t][None]) for n, t in picked) / 3
    torch.testing.assert_close(out['loss'], want)


def test_text_transformer_equals_clip_reference():
    torch.manual_seed(1)
    ours = CLIPTextTransformer(vocab_size=50, context_length=8, width=32, layers=2, heads=2, embed_dim=16).eval()
    mask = torch.full((8, 8), float('-inf')).triu_(1)
    ref = Transformer(32, 2, 2, attn_mask=mask)
    sd = {k[len('transformer.') :]: v for k, v in ours.state_dict().items() if k.startswith('transformer.')}
    ref.load_state_dict(sd)
    tokens = torch.tensor([[49 - 1, 3, 7, 49, 0, 0, 0, 0], [48, 5, 6, 7, 8, 9, 10, 49]])  # EOT = 49 (max id)
    with torch.no_grad():  # OpenAI CLIP's encode_text, step by step
        x = ours.token_embedding(tokens) + ours.positional_embedding
        x = ref.resblocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = ours.ln_final(x)
        want = x[torch.arange(2), tokens.argmax(-1)] @ ours.text_projection
        got = ours(tokens)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    padded = tokens.clone()
    padded[0, 4:] = 17  # changing tokens after EOT changes nothing (causal mask)
    with torch.no_grad():
        torch.testing.assert_close(ours(padded)[0], got[0], atol=1e-6, rtol=0)


def test_text_tower_uses_mmpretrains_quick_gelu():
    from mmpretrain.models.utils import QuickGELU

    tower = CLIPTextTransformer(vocab_size=50, context_length=8, width=32, layers=1, heads=2, embed_dim=16)
    act = tower.transformer.resblocks[0].mlp.gelu
    assert type(act) is QuickGELU
    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(act(x), x * torch.sigmoid(1.702 * x), rtol=0, atol=0)  # CLIP's definition
