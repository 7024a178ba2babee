"""The offline CLIP BPE tokenizer: known ids, agreement with mmseg's independent copy, round trips."""
import pytest

from mcf_mm.datasets import BPETokenizer, get_tokenizer

TEXTS = ['a photo of a cat', 'A smiling woman with long  BLONDE hair, glasses & a 3-day beard!',
         "he's wearing eyeglasses; she'll smile :-)", 'portrait of an 80-year-old asian man.',
         'Ünïcödé façade — naïve café 笑顔', 'x' * 3]


@pytest.fixture(scope='module')
def tok() -> BPETokenizer:
    return get_tokenizer()


def test_known_clip_ids(tok):
    assert tok.vocab_size == 49408
    ids = tok('a photo of a cat', context_length=10)[0]
    assert ids.tolist() == [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0, 0]  # OpenAI CLIP's tokenize()


def test_matches_mmseg_tokenizer(tok):
    from mmseg.utils.tokenizer import SimpleTokenizer
    ref = SimpleTokenizer()
    for text in TEXTS:
        assert tok.encode(text) == ref.encode(text), text


def test_encode_decode_round_trip(tok):
    # CLIP lower-cases, splits punctuation into its own words and digits into single characters
    cases = {'A close up face of a white teenage girl, aged 14.':
             'a close up face of a white teenage girl , aged 1 4 .',
             'smiling  woman with glasses': 'smiling woman with glasses', 'naïve café 笑顔': 'naïve café 笑顔'}
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
