"""Captions for face images without text: UTKFace's labels (``age_gender_race_date.jpg.chip.jpg``) as a sentence.

Used by tools/dataset_converters/make_image_text_shards.py and make_face_shards.py.
"""

import os.path as osp
from typing import Optional

RACES = ('white', 'black', 'asian', 'indian', 'mixed-race')
TEMPLATES = (
    'a photo of {a} {age}-year-old {race} {who}.',
    'a close-up face of {a} {race} {who}, aged {age}.',
    'portrait of {a} {who} ({race}, {age} years old).',
    '{a} {race} {who} looking at the camera.',
)


def utkface_caption(name: str) -> Optional[str]:
    """Caption from UTKFace's ``age_gender_race_*`` file name, or None if the name does not parse."""
    parts = osp.basename(name).split('_')
    try:
        age, gender, race = int(parts[0]), int(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        return None
    if gender not in (0, 1) or not 0 <= race < len(RACES):
        return None
    if age < 13:
        who = ('boy', 'girl')[gender]
    elif age < 20:
        who = ('teenage boy', 'teenage girl')[gender]
    elif age < 60:
        who = ('man', 'woman')[gender]
    else:
        who = ('elderly man', 'elderly woman')[gender]
    template = TEMPLATES[sum(map(ord, name)) % len(TEMPLATES)]
    values = dict(age=str(age), race=RACES[race], who=who)
    following = template.split('{a} ', 1)[1].split('}', 1)[0].lstrip('{')  # the placeholder after {a}
    return template.format(a=_article(values[following]), **values)


def _article(word: str) -> str:
    """'an' before a vowel sound (including 8, 11, 18 and 80-89 read aloud), else 'a'."""
    if word.isdigit():
        return 'an' if word.startswith('8') or word in ('11', '18') else 'a'
    return 'an' if word[0] in 'aeiou' else 'a'
