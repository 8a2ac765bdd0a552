// Bad input gives a named error that says which token, file or template is wrong and how.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ModelNotFound, TemplateInvalid, TokenInvalid, TokenizerFileInvalid } from '../src/errors.ts';
import { explicitCandidates } from '../src/tokenizer/discover.ts';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { jsonErrorOffset } from '../src/tokenizer/files.ts';
import { LoadedTokenizer, loadTokenizer } from '../src/tokenizer/load.ts';
import { templateCandidates } from '../src/tokenizer/template.ts';
import { tinyTokenizer } from './fixtures/tokens/tiny.ts';

const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'tokens');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tok-bad-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('an empty or whitespace-only token is rejected with its position and value', () => {
  assert.throws(() => explicitCandidates(['ok', '', 'x']), (e: unknown) => e instanceof TokenInvalid && /^tokens\[1\]: token "" is empty/.test(e.message));
  assert.throws(
    () => explicitCandidates(['ok', { content: ' \t\n', special: true }], 'params.tokens'),
    (e: unknown) => e instanceof TokenInvalid && e.message === 'params.tokens[1]: token " \\t\\n" is only whitespace',
  );
  const base = new LoadedTokenizer({ tokenizerJson: tinyTokenizer({ merges: [] }), tokenizerConfig: {} });
  assert.throws(() => extendTokenizer(base, [{ content: '  ', special: false, origin: 'mined' }]), (e: unknown) => e instanceof TokenInvalid && /^tokens\[0\]/.test(e.message));
});

test('a malformed tokenizer.json names the file and the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['bad-json', /bad-json\/tokenizer\.json: invalid tokenizer file: not valid JSON \(unexpected "\]" at line 5, column 3\)/],
    ['no-merges', /no-merges\/tokenizer\.json: .*"model\.merges" of a BPE model is missing/],
    ['bad-added', /bad-added\/tokenizer\.json: .*"added_tokens\[0\]" needs an integer "id"/],
  ];
  for (const [dir, re] of cases) {
    assert.throws(() => loadTokenizer(path.join(fixtures, dir)), (e: unknown) => e instanceof TokenizerFileInvalid && re.test(e.message), dir);
  }
  // A folder without tokenizer.json still says what is missing in it.
  assert.throws(() => loadTokenizer(mkdtempSync(path.join(tmp, 'empty-'))), (e: unknown) => e instanceof TokenizerFileInvalid && /tokenizer\.json: .*file not found/.test(e.message));
});

test('a missing folder is not a Hugging Face model folder (the words pipe eval uses)', () => {
  const missing = path.join(fixtures, 'does-not-exist');
  assert.throws(() => loadTokenizer(missing), (e: unknown) => e instanceof ModelNotFound && e.message === `${missing}: not a Hugging Face model folder (no such folder)`);
});

test('a malformed tokenizer_config.json names that file', () => {
  writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify(tinyTokenizer({ merges: [] })));
  writeFileSync(path.join(tmp, 'tokenizer_config.json'), '{"bos_token": "<s>",\n "eos_token": }');
  assert.throws(
    () => loadTokenizer(tmp),
    (e: unknown) => e instanceof TokenizerFileInvalid && e.file.endsWith('tokenizer_config.json') && /line 2, column 15/.test(e.message),
  );
});

test('the JSON error offset is the first offending character', () => {
  assert.equal(jsonErrorOffset('{"a": [1, 2,]}'), 12);
  assert.equal(jsonErrorOffset('{"a": tru}'), 6);
  assert.equal(jsonErrorOffset('{"a": "x'), 8);
  assert.equal(jsonErrorOffset('[1] x'), 4);
});

test('a template that does not parse names its file (or says inline) and the parser message', () => {
  assert.throws(
    () => templateCandidates({ templateFile: path.join(fixtures, 'bad-template.jinja') }),
    (e: unknown) => e instanceof TemplateInvalid && /bad-template\.jinja: chat template: does not parse: Unexpected token/.test(e.message),
  );
  assert.throws(
    () => templateCandidates({ templateFile: path.join(fixtures, 'unclosed-template.jinja') }),
    (e: unknown) => e instanceof TemplateInvalid && /unclosed-template\.jinja: .*block left open/.test(e.message),
  );
  assert.throws(() => templateCandidates({ template: '{{ x + }}' }), (e: unknown) => e instanceof TemplateInvalid && /^inline template: /.test(e.message));
  assert.throws(() => templateCandidates({ template: '  ' }), (e: unknown) => e instanceof TemplateInvalid && /empty/.test(e.message));
  assert.throws(() => templateCandidates({ family: 'chatm' }), (e: unknown) => e instanceof TemplateInvalid && /unknown family; known: chatml/.test(e.message));
});
