"""FaRL pre-training parts: text tower, BPE tokenizer, visual tokenizer, MIM head, loss, data, algorithm."""
from mcf_mm.models.selfsup.farl import FaRL
from .image_text_dataset import ImageTextTarDataset, TokenizeText, expand_shards
from .losses import ImageTextContrastiveLoss
from .mim_head import FaRLMIMHead
from .text_transformer import CLIPTextTransformer
from .tokenizer import BPETokenizer, get_tokenizer
from .visual_tokenizer import PatchKMeansEncoder, VisualTokenizer, fit_patch_kmeans

__all__ = ['FaRL', 'ImageTextTarDataset', 'TokenizeText', 'expand_shards', 'ImageTextContrastiveLoss',
           'FaRLMIMHead', 'CLIPTextTransformer', 'BPETokenizer', 'get_tokenizer', 'PatchKMeansEncoder',
           'VisualTokenizer', 'fit_patch_kmeans']
