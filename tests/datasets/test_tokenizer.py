"""The offline CLIP BPE tokenizer (mmseg's): known ids, CLIP's definition on many strings, round trips."""

import random

import pytest

from mcf_mm.datasets import BPETokenizer, get_tokenizer

TEXTS = [
    'a photo of a cat',
    'A smiling woman with long  BLONDE hair, glasses & a 3-day beard!',
    "he's wearing eyeglasses; she'll smile :-)",
    'portrait of an 80-year-old asian man.',
    'Ünïcödé façade — naïve café 笑顔',
    'x' * 3,
]


@pytest.fixture(scope='module')
def tok() -> BPETokenizer:
    return get_tokenizer()


def test_known_clip_ids(tok):
    assert tok.vocab_size == 49408
    ids = tok('a photo of a cat', context_length=10)[0]
    assert ids.tolist() == [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0, 0]  # OpenAI CLIP's tokenize()


def test_is_mmsegs_tokenizer_and_matches_clip_on_many_strings(tok):
    """BPETokenizer wraps mmseg's SimpleTokenizer; checked against OpenAI CLIP's ids above and, for many random
    strings, against a pure-Python BPE written from CLIP's definition (``clip_bpe`` below)."""
    from mmseg.utils.tokenizer import SimpleTokenizer

    assert isinstance(tok.bpe, SimpleTokenizer)
    rng = random.Random(0)
    alphabet = 'abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?\'"-()[]{}@#$%&*_+=/\\|~`éüñç中文😀\t\n'
    texts = TEXTS + ['', '   ', 'emoji 😀👍🏽 face', '&amp; &lt;b&gt; html', 'tab\tnew\nline', "I'M YOU'VE WE'D"]
    texts += [''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(300)]
    for text in texts:
        assert tok.encode(text) == clip_bpe(tok, text), text


def clip_bpe(tok, text: str) -> list:
    """CLIP's encode from its definition: clean, split by CLIP's pattern, bytes -> unicode, greedy lowest-rank
    merges; uses only the vocabulary tables of ``tok``."""
    import html

    import ftfy
    import regex

    text = regex.sub(r'\s+', ' ', html.unescape(html.unescape(ftfy.fix_text(text))).strip()).strip().lower()
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
    ids = []
    for word in regex.findall(pattern, text, regex.IGNORECASE):
        units = [tok.bpe.byte_encoder[b] for b in word.encode('utf-8')]
        units[-1] += '</w>'
        while len(units) > 1:
            ranks = [tok.bpe.bpe_ranks.get(pair, float('inf')) for pair in zip(units, units[1:])]
            best = min(ranks)
            if best == float('inf'):
                break
            i = ranks.index(best)
            pair = (units[i], units[i + 1])
            merged, j = [], 0
            while j < len(units):
                if j < len(units) - 1 and (units[j], units[j + 1]) == pair:
                    merged.append(units[j] + units[j + 1])
                    j += 2
                else:
                    merged.append(units[j])
                    j += 1
            units = merged
        ids += [tok.bpe.encoder[u] for u in units]
    return ids


def test_literal_special_token_strings_follow_mmseg(tok):
    """The one difference from OpenAI's copy: a caption containing the literal text '<|endoftext|>' is
    ordinary text for mmseg (OpenAI maps it to EOT, which would end the caption early)."""
    ids = tok.encode('<|endoftext|>')
    assert tok.eot_id not in ids and len(ids) > 1


def test_encode_decode_round_trip(tok):
    # CLIP lower-cases, splits punctuation into its own words and digits into single characters
    cases = {
        'A close up face of a white teenage girl, aged 14.': 'a close up face of a white teenage girl , aged 1 4 .',
        'smiling  woman with glasses': 'smiling woman with glasses',
        'naïve café 笑顔': 'naïve café 笑顔',
    }
    for text, want in cases.items():
        ids = tok(text)[0]  # [77] with SOT, EOT and padding
        assert tok.decode(ids) == want
    for text in TEXTS:  # decode(encode(x)) is a fixed point of encode
        again = tok.decode(tok.encode(text))
        assert tok.encode(again) == tok.encode(text)


def test_truncation_keeps_eot_last(tok):
    long = ' '.join(['face'] * 100)
    ids = tok(long, context_length=16)[0]
    assert ids[0] == tok.sot_id and ids[-1] == tok.eot_id and (ids > 0).all()
    with pytest.raises(ValueError, match='exceeds context_length=16'):
        tok(long, context_length=16, truncate=False)


def test_bad_merges_file(tmp_path):
    import gzip

    path = tmp_path / 'bad.txt.gz'
    with gzip.open(path, 'wt') as f:
        f.write('#version\na b\n')
    with pytest.raises(ValueError, match="not CLIP's merges file"):
        BPETokenizer(str(path))
