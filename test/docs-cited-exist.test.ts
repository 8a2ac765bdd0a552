// Every document the repository cites is in the repository, and every cited section is a heading
// there (issue 25: comments cited reference notes that only the team's shared folder held).
//
// The rule, for the text files (.ts .mts .mjs .js .py .yaml .yml .sh .md) under src/, nodes/,
// bench/, tools/, test/, pipelines/, and README.md and docs/*.md (URLs are ignored):
// - a Markdown link `[text](target)` in a .md file must resolve, relative to that file, to a file
//   or folder, and its `#anchor`, if any, to a heading of the .md file it names (GitHub's anchors);
// - a document named in text, `name.md` or `dir/name.md`, must exist: a name with a folder is
//   looked up from the repository root, then from the citing file's folder; a bare name in docs/,
//   at the root, then beside the citing file. Two names are files the code writes, not citations:
//   `report.md` (every run's report, src/report/) and `RECIPE.md` (the base model's recipe,
//   tools/base-model/train_base.py); a file of another repository is written `owner/repo:path`
//   and not looked up;
// - a section is cited as `§N` (`§3.3`, `§4a`, a range `§1-4`) after the document's name on the
//   same line: `llama-family-spec.md §3.3`. In a .md file a `§N` with no name before it on its
//   line cites that file itself. A heading `#... N. title` or `#... N title` must open the section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);
const TEXT = /\.(ts|mts|mjs|js|py|ya?ml|sh|md)$/;
const NOT_CITATIONS = new Set(['report.md', 'RECIPE.md']);
const NAME = /(?<![\w./-])((?:[\w.-]+\/)*[\w-][\w.-]*\.md)(?![\w-])/g;
const SECTION = /§\s?(\d+[a-z]?(?:\.\d+)*)(?:\s?[-–]\s?(\d+[a-z]?(?:\.\d+)*))?/g;

function walk(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (TEXT.test(entry.name)) out.push(p);
  }
  return out;
}

function scanned(): string[] {
  const files = ['src', 'nodes', 'bench', 'tools', 'test', 'pipelines', 'docs'].flatMap((d) => walk(path.join(root, d), []));
  const fixture = path.join(root, 'test', 'fixtures', 'doc-citations');
  return [path.join(root, 'README.md'), ...files].filter((f) => f !== self && !f.startsWith(fixture + path.sep));
}

/** Where a named document lives, or undefined. */
function resolveDoc(name: string, from: string): string | undefined {
  const tries = name.includes('/')
    ? [path.join(root, name), path.join(path.dirname(from), name)]
    : [path.join(root, 'docs', name), path.join(root, name), path.join(path.dirname(from), name)];
  return tries.find((p) => existsSync(p) && statSync(p).isFile());
}

const headingCache = new Map<string, string[]>();
function headings(doc: string): string[] {
  if (!headingCache.has(doc)) headingCache.set(doc, readFileSync(doc, 'utf8').split('\n').filter((l) => /^#+\s/.test(l)));
  return headingCache.get(doc)!;
}

/** The anchors GitHub makes of a file's headings: lower case, punctuation dropped, spaces as '-'. */
function anchors(doc: string): Set<string> {
  return new Set(headings(doc).map((h) => h.replace(/^#+\s+/, '').trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-')));
}
function hasSection(doc: string, section: string): boolean {
  const escaped = section.replace(/\./g, '\\.');
  const re = new RegExp(`^#+\\s+${escaped}(?:\\.(?!\\d)|\\s|$)`);
  return headings(doc).some((h) => re.test(h));
}

/** Every broken citation in one file, as `file:line: what`. */
export function brokenCitations(file: string): string[] {
  const rel = path.relative(root, file);
  const isMd = file.endsWith('.md');
  const problems: string[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const at = `${rel}:${i + 1}`;
    const line = raw.replace(/\bhttps?:\/\/[^\s)>\]`'"]+/g, (u) => ' '.repeat(u.length));
    if (isMd) {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const [target, anchor] = m[1].split('#');
        if (/^[a-z]+:/.test(target)) continue;
        const dest = target ? path.join(path.dirname(file), target) : file;
        if (!existsSync(dest)) problems.push(`${at}: link to ${m[1]}: no such file`);
        else if (anchor && dest.endsWith('.md') && !anchors(dest).has(anchor)) problems.push(`${at}: link to ${m[1]}: no such heading`);
      }
    }
    const names: { index: number; doc: string | undefined }[] = [];
    for (const m of line.matchAll(NAME)) {
      const name = m[1];
      if (NOT_CITATIONS.has(path.basename(name)) || /[\w.-]+\/[\w.-]+:$/.test(line.slice(0, m.index))) continue;
      const doc = resolveDoc(name, file);
      if (!doc) problems.push(`${at}: cites ${name}: not in the repository`);
      names.push({ index: m.index!, doc });
    }
    for (const m of line.matchAll(SECTION)) {
      const before = names.filter((n) => n.index < m.index!).at(-1);
      const doc = before ? before.doc : isMd ? file : undefined;
      if (!before && !isMd) {
        problems.push(`${at}: ${m[0]} names no document before it on the line (write 'name.md ${m[0]}')`);
        continue;
      }
      if (!doc) continue; // the missing document is reported above
      for (const s of [m[1], m[2]].filter((x): x is string => x !== undefined)) {
        if (!hasSection(doc, s)) problems.push(`${at}: ${path.relative(root, doc)} has no section ${s}`);
      }
    }
  });
  return problems;
}

test('every document cited in the code and the docs is in the repository, with the cited sections', () => {
  const files = scanned();
  assert.ok(files.length > 100, `scanned only ${files.length} files`);
  assert.deepEqual(files.flatMap(brokenCitations), []);
});

test('the check finds a missing document, a missing section, a section with no document, a dead link and a dead anchor', () => {
  const fixture = path.join(root, 'test', 'fixtures', 'doc-citations');
  assert.deepEqual(
    readdirSync(fixture)
      .sort()
      .flatMap((f) => brokenCitations(path.join(fixture, f))),
    [
      'test/fixtures/doc-citations/cites.md:3: link to ./absent.md: no such file',
      'test/fixtures/doc-citations/cites.md:3: link to cites.md#nowhere: no such heading',
      'test/fixtures/doc-citations/cites.md:3: cites ./absent.md: not in the repository',
      'test/fixtures/doc-citations/cites.md:5: cites shared/docs/llama-family-spec.md: not in the repository',
      'test/fixtures/doc-citations/cites.ts:2: docs/architecture.md has no section 9',
      'test/fixtures/doc-citations/cites.ts:3: § 2 names no document before it on the line (write \'name.md § 2\')',
      'test/fixtures/doc-citations/cites.ts:4: cites anchors-nowhere.md: not in the repository',
    ],
  );
});
