"""CLIP's byte-level BPE tokenizer (vocabulary 49,408) for FaRL's text tower: mmsegmentation's copy of
OpenAI's ``SimpleTokenizer`` plus CLIP's ``tokenize`` (SOT, ids, EOT, zero padding) with a context length.

The merges file is CLIP's ``bpe_simple_vocab_16e6.txt.gz``, shipped inside mmsegmentation, so no download is
needed; ``bpe_path`` names another copy.
"""

from functools import lru_cache
from typing import List, Optional, Sequence, Union

import torch
from torch import Tensor

NUM_MERGES = 49152 - 256 - 2


class BPETokenizer:
    """CLIP's byte-pair-encoding tokenizer.

    Args:
        bpe_path: gzipped merges file (default: the copy in mmsegmentation).
        context_length: length of the id tensors :meth:`__call__` returns (CLIP: 77).
    """

    def __init__(self, bpe_path: Optional[str] = None, context_length: int = 77) -> None:
        # imported here: importing mmseg's tokenizer module sets TOKENIZERS_PARALLELISM and builds one tokenizer
        from mmseg.utils.tokenizer import SimpleTokenizer, default_bpe

        path = bpe_path or default_bpe()
        try:
            self.bpe = SimpleTokenizer(path)
        except (OSError, EOFError) as err:
            raise FileNotFoundError(
                f'BPE merges file {path!r} cannot be read ({err}); pass `bpe_path=` a copy '
                "of CLIP's bpe_simple_vocab_16e6.txt.gz."
            ) from err
        merges = self.bpe.bpe_ranks
        if len(merges) != NUM_MERGES or any(len(m) != 2 for m in merges):
            raise ValueError(f"{path!r} is not CLIP's merges file: expected {NUM_MERGES} pairs, found {len(merges)}.")
        self.context_length = context_length
        self.sot_id, self.eot_id = self.bpe.all_special_ids

    @property
    def vocab_size(self) -> int:
        return self.bpe.vocab_size

    def encode(self, text: str) -> List[int]:
        """Text -> BPE ids (no start/end tokens)."""
        return self.bpe.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        """BPE ids -> text; SOT is skipped and decoding stops at EOT (so padding is ignored)."""
        ids = [int(i) for i in ids]
        if self.eot_id in ids:
            ids = ids[: ids.index(self.eot_id)]
        return self.bpe.decode([i for i in ids if i != self.sot_id]).strip()

    def __call__(
        self, texts: Union[str, Sequence[str]], context_length: Optional[int] = None, truncate: bool = True
    ) -> Tensor:
        """Texts -> ids [N, context_length]: SOT, BPE ids, EOT, zero padding (CLIP's ``tokenize``).

        Args:
            texts: one text or a list.
            context_length: default the tokenizer's.
            truncate: cut long texts (keeping EOT last); otherwise raise.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        length = context_length or self.context_length
        out = torch.zeros(len(texts), length, dtype=torch.long)  # [N, L]
        for row, text in enumerate(texts):
            ids = [self.sot_id] + self.encode(text) + [self.eot_id]
            if len(ids) > length:
                if not truncate:
                    raise ValueError(f'text of {len(ids)} tokens exceeds context_length={length}: {text[:60]!r}')
                ids = ids[: length - 1] + [self.eot_id]
            out[row, : len(ids)] = torch.tensor(ids)
        return out


@lru_cache(maxsize=4)
def get_tokenizer(bpe_path: Optional[str] = None, context_length: int = 77) -> BPETokenizer:
    """A cached tokenizer (building one parses 48,894 merges, ~0.3 s)."""
    return BPETokenizer(bpe_path, context_length)
