"""Seeded generator of the quickstart's domain corpus: short pharmacy chats about common medicines.

    /usr/bin/python3 tools/base-model/make-domain-corpus.py [--seed 7] [--train 2200] [--eval 200]

Writes fixtures/corpora/pharma-chat.jsonl (training conversations), pharma-eval.jsonl (held-out
conversations, same format) and pharma-eval.txt (the held-out ones rendered with chatml.jinja,
separated by blank lines, for `pipe eval --text`). Records: {"messages": [{"role", "content"}, ...]}.

The drug names, brand names and classes are words the Brown-trained base tokenizer has never seen,
so they split into many pieces: the material token discovery and trainable rows are for. Facts are
simplified textbook statements chosen to be consistent across templates, so there is a pattern to
learn. Synthetic fixture text: not medical advice.
"""
import argparse
import json
import os
import random

from drugs import DRUGS, INTERACTIONS, NO_INTERACTION

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

SYSTEMS = [
    'You are a careful pharmacy assistant. Answer briefly and name the medicine you are talking about.',
    'You are a helpful assistant for questions about medicines. Be short and precise.',
    'You answer questions from patients about their prescriptions. Keep answers short and safe.',
]
CLOSERS = [
    '', '', ' Ask your pharmacist if you are unsure.', ' Check the label of your {name} for your exact dose.',
    ' Your doctor can adjust the plan if needed.',
]


def q_dose(d, r):
    q = r.choice(['How much {name} should I take?', 'What is the usual dose of {name}?',
                  'What dose of {name} is normal for an adult?', 'How often do I take {name}?',
                  'My doctor gave me {name}. How do I take it?'])
    a = r.choice(['The usual adult dose of {name} is {dose}.', 'For adults, {name} is usually taken as {dose}.',
                  '{Name} is normally {dose}.'])
    return q, a + ' ' + d['dose_note']


def q_side(d, r):
    q = r.choice(['What are the side effects of {name}?', 'Does {name} have side effects?',
                  'I started {name} last week. What side effects should I expect?',
                  'Is {side0} a side effect of {name}?'])
    a = r.choice(['Common side effects of {name} include {sides}.', 'With {name}, people most often notice {sides}.',
                  '{Name} can cause {sides}.'])
    return q, a + ' ' + d['warn']


def q_use(d, r):
    if r.random() < 0.2:
        return ('Is {brand} the same as {name}?',
                'Yes. {Brand} is a brand name of {name}, {klass_a} used for {use}.')
    q = r.choice(['What is {name} used for?', 'Why would someone take {name}?', 'What does {name} treat?',
                  'What kind of medicine is {name}?'])
    a = r.choice(['{Name} is {klass_a} used for {use}.', '{Name} ({brand}) is {klass_a}. It treats {use}.'])
    return q, a


def q_missed(d, r):
    q = r.choice(['I forgot to take my {name}. What should I do?', 'What if I miss a dose of {name}?',
                  'I missed my {name} this morning. Should I take two doses now?'])
    return q, 'If you miss a dose of {name}, ' + d['missed'] + ' Do not take two doses of {name} at once.'


def q_food(d, r):
    q = r.choice(['Should I take {name} with food?', 'Is there anything I should avoid while taking {name}?',
                  'Does it matter when I take {name}?', 'Can I take {name} on an empty stomach?'])
    return q, d['food']


INTENTS = [q_dose, q_side, q_use, q_missed, q_food]


def fill(text, d):
    sides = d['sides']
    return text.format(name=d['name'], Name=d['name'].capitalize(), brand=d['brand'], Brand=d['brand'],
                       dose=d['dose'], klass_a=d['klass_a'], use=d['use'], side0=sides[0],
                       sides=', '.join(sides[:-1]) + ' and ' + sides[-1])


def interaction_turn(r):
    if r.random() < 0.7:
        a, b, text = r.choice(INTERACTIONS)
    else:
        a, b = r.choice(NO_INTERACTION)
        text = ('No major interaction is known between {a} and {b}, and they are often used together. '
                'Still, tell your pharmacist about every medicine you take.')
    if r.random() < 0.5:
        a, b = b, a
    q = r.choice(['Can I take {a} with {b}?', 'Is it safe to take {a} and {b} together?',
                  'I take {a}. Can I also take {b}?', 'Does {a} interact with {b}?'])
    return q.format(a=a, b=b), text.format(a=a, b=b)


def conversation(r):
    msgs = [{'role': 'system', 'content': r.choice(SYSTEMS)}] if r.random() < 0.7 else []
    for _ in range(1 if r.random() < 0.65 else 2):
        if r.random() < 0.25:
            q, a = interaction_turn(r)
        else:
            d = DRUGS[r.randrange(len(DRUGS))]
            q, a = r.choice(INTENTS)(d, r)
            q, a = fill(q, d), fill(a + r.choice(CLOSERS), d)
        msgs += [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}]
    return {'messages': msgs}


def render_chatml(conv):
    """Same output as fixtures/corpora/chatml.jinja with add_generation_prompt=false."""
    return ''.join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in conv['messages'])


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--train', type=int, default=2200)
    p.add_argument('--eval', type=int, default=200)
    p.add_argument('--out', default=os.path.join(ROOT, 'fixtures', 'corpora'))
    args = p.parse_args()
    r = random.Random(args.seed)
    convs, seen = [], set()
    while len(convs) < args.train + args.eval:
        c = conversation(r)
        key = json.dumps(c, sort_keys=True)
        if key not in seen:  # duplicates would leak between train and eval
            seen.add(key)
            convs.append(c)
    train, held = convs[:args.train], convs[args.train:]
    os.makedirs(args.out, exist_ok=True)
    dump = lambda cs: ''.join(json.dumps(c, ensure_ascii=False) + '\n' for c in cs)  # noqa: E731
    write_atomic(os.path.join(args.out, 'pharma-chat.jsonl'), dump(train))
    write_atomic(os.path.join(args.out, 'pharma-eval.jsonl'), dump(held))
    write_atomic(os.path.join(args.out, 'pharma-eval.txt'), '\n'.join(render_chatml(c) for c in held))
    print(f'{len(train)} train + {len(held)} eval conversations -> {args.out}')


if __name__ == '__main__':
    main()
