// A small XML well-formedness check for tests (no XML parser among the dependencies): one
// root element, every tag closed in order, attributes quoted and unique, only the five
// predefined entities or numeric references, no stray '<' or '&' in text. Returns the element
// names in document order, or throws with the offset of the first problem.
const NAME = '[A-Za-z_:][A-Za-z0-9_.:-]*';
const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/y;

export function checkWellFormedXml(xml: string): string[] {
  let i = 0;
  const stack: string[] = [];
  const elements: string[] = [];
  let roots = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at offset ${i}: ${why}: ${JSON.stringify(xml.slice(i, i + 40))}`);
  };
  const text = (s: string, at: number) => {
    for (let k = 0; k < s.length; k++) {
      if (s[k] === '<') { i = at + k; fail("'<' in text"); }
      if (s[k] === '&') {
        ENTITY.lastIndex = k;
        if (!ENTITY.test(s)) { i = at + k; fail('bad entity'); }
      }
    }
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (stack.length === 0 && chunk.trim() !== '') fail('text outside the root element');
    text(chunk, i);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', i);
    if (gt < 0) fail('unterminated tag');
    const tag = xml.slice(i + 1, gt);
    const close = new RegExp(`^/(${NAME})\\s*$`).exec(tag);
    if (close) {
      if (stack.pop() !== close[1]) fail(`</${close[1]}> does not close the open element`);
    } else {
      const open = new RegExp(`^(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)$`).exec(tag);
      if (!open) fail('bad tag');
      const names = [...open![2].matchAll(new RegExp(`(${NAME})\\s*=`, 'g'))].map((m) => m[1]);
      if (new Set(names).size !== names.length) fail('duplicate attribute');
      for (const m of open![2].matchAll(/=\s*(?:"([^"]*)"|'([^']*)')/g)) text(m[1] ?? m[2], i);
      if (stack.length === 0 && ++roots > 1) fail('second root element');
      elements.push(open![1]);
      if (open![3] !== '/') stack.push(open![1]);
    }
    i = gt + 1;
  }
  if (stack.length > 0) fail(`unclosed <${stack.at(-1)}>`);
  if (roots !== 1) fail('no root element');
  return elements;
}
