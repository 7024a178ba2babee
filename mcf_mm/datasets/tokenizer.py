"""Offline byte-level BPE tokenizer of CLIP (vocabulary 49,408), used by FaRL's text tower.

The merges file is CLIP's ``bpe_simple_vocab_16e6.txt.gz``; it is read from the installed mmsegmentation
package (which ships it) unless ``bpe_path`` names another copy, so no download is needed.
"""
import gzip
import html
import importlib.util
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

import regex
import torch
from torch import Tensor

SOT, EOT = '<|startoftext|>', '<|endoftext|>'
NUM_MERGES = 49152 - 256 - 2
_PATTERN = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"""
                         r"""[^\s\p{L}\p{N}]+""", regex.IGNORECASE)


def default_bpe_path() -> str:
    """Path of CLIP's merges file shipped inside the installed mmsegmentation package."""
    spec = importlib.util.find_spec('mmseg')
    if spec is not None and spec.submodule_search_locations:
        path = osp.join(list(spec.submodule_search_locations)[0], 'utils', 'bpe_simple_vocab_16e6.txt.gz')
        if osp.isfile(path):
            return path
    raise FileNotFoundError('CLIP BPE merges file not found: install mmsegmentation==1.2.2 (it ships '
                            'mmseg/utils/bpe_simple_vocab_16e6.txt.gz) or pass `bpe_path=` to the tokenizer.')


@lru_cache()
def bytes_to_unicode() -> Dict[int, str]:
    """Reversible map from the 256 byte values to printable unicode characters (GPT-2 / CLIP)."""
    printable = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + \
        list(range(ord('®'), ord('ÿ') + 1))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def _clean(text: str) -> str:
    try:
        import ftfy
        text = ftfy.fix_text(text)
    except ImportError:  # ftfy only repairs mojibake; the vocabulary works without it
        pass
    text = html.unescape(html.unescape(text))
    return regex.sub(r'\s+', ' ', text).strip().lower()


class BPETokenizer:
    """CLIP's byte-pair-encoding tokenizer.

    Args:
        bpe_path: gzipped merges file (default: the copy in mmsegmentation).
        context_length: length of the id tensors :meth:`__call__` returns (CLIP: 77).
    """

    def __init__(self, bpe_path: Optional[str] = None, context_length: int = 77) -> None:
        path = bpe_path or default_bpe_path()
        if not osp.isfile(path):
            raise FileNotFoundError(f'BPE merges file {path!r} does not exist.')
        lines = gzip.open(path).read().decode('utf-8').split('\n')[1:NUM_MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        if len(merges) != NUM_MERGES or any(len(m) != 2 for m in merges):
            raise ValueError(f'{path!r} is not CLIP\'s merges file: expected {NUM_MERGES} pairs, '
                             f'found {len(merges)}.')
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + '</w>' for v in vocab] + [''.join(m) for m in merges] + [SOT, EOT]
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        self.decoder = {i: tok for tok, i in self.encoder.items()}
        self.bpe_ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {SOT: SOT, EOT: EOT}
        self.context_length = context_length
        self.sot_id, self.eot_id = self.encoder[SOT], self.encoder[EOT]

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def bpe(self, token: str) -> str:
        """Merge the characters of one word (byte-mapped) into BPE units, space-separated."""
        if token in self.cache:
            return self.cache[token]
        word: Tuple[str, ...] = tuple(token[:-1]) + (token[-1] + '</w>',)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.bpe_ranks.get(p, float('inf')))
            if best not in self.bpe_ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        out = ' '.join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> List[int]:
        """Text -> BPE ids (no start/end tokens)."""
        ids = []
        for token in _PATTERN.findall(_clean(text)):
            token = ''.join(self.byte_encoder[b] for b in token.encode('utf-8'))
            ids.extend(self.encoder[unit] for unit in self.bpe(token).split(' '))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """BPE ids -> text; SOT is skipped and decoding stops at EOT (so padding is ignored)."""
        ids = [int(i) for i in ids]
        if self.eot_id in ids:
            ids = ids[:ids.index(self.eot_id)]
        units = ''.join(self.decoder[i] for i in ids if i != self.sot_id)
        text = bytearray(self.byte_decoder[c] for c in units).decode('utf-8', errors='replace')
        return text.replace('</w>', ' ').strip()

    def __call__(self, texts: Union[str, Sequence[str]], context_length: Optional[int] = None,
                 truncate: bool = True) -> Tensor:
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
                ids = ids[:length - 1] + [self.eot_id]
            out[row, :len(ids)] = torch.tensor(ids)
        return out


@lru_cache(maxsize=4)
def get_tokenizer(bpe_path: Optional[str] = None, context_length: int = 77) -> BPETokenizer:
    """A cached tokenizer (building one parses 48,894 merges, ~0.3 s)."""
    return BPETokenizer(bpe_path, context_length)
