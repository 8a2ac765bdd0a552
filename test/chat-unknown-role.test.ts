// A chat record with a role the template does not handle ('wizard') is rejected with file:line
// instead of being rendered through the template's generic branch without a word. system, user,
// assistant and tool are accepted, so are the roles the template names, and the reader's
// chatRoles adds more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import type { RejectRecord } from '../src/data/record.ts';
import { templateRoles } from '../src/data/chat.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tp-roles-'));
const chat = (...turns: Array<[string, string]>) => JSON.stringify({ messages: turns.map(([role, content]) => ({ role, content })) });
writeFileSync(path.join(dir, 'chats.jsonl'), [
  chat(['system', 'be brief'], ['user', 'hi'], ['assistant', 'hello']),
  chat(['wizard', 'abracadabra'], ['user', 'hi'], ['assistant', 'hello']),
  chat(['user', 'weather?'], ['tool', '{"t": 3}'], ['assistant', 'cold']),
].join('\n') + '\n');
const CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}";

async function read(extra: Record<string, unknown> = {}) {
  const rejects: RejectRecord[] = [];
  const p = CorpusParams.parse({ paths: 'chats.jsonl', format: 'chat', chatTemplate: CHATML, cwd: dir, ...extra });
  const docs = [];
  for await (const d of readCorpus(p, { seed: 0, onReject: (r) => rejects.push(r) })) docs.push(d);
  return { docs, rejects };
}

test("an unknown role is rejected with file:line; the four usual roles pass", async () => {
  const { docs, rejects } = await read();
  assert.equal(docs.length, 2);
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0].where, 'chats.jsonl:2');
  assert.match(rejects[0].reason, /message 0 has role 'wizard', which the chat template does not handle .*chatRoles/);
});

test('chatRoles accepts it; strict mode stops at it', async () => {
  assert.equal((await read({ chatRoles: ['wizard'] })).docs.length, 3);
  await assert.rejects(read({ strict: true }), /chats\.jsonl:2: .*role 'wizard'/);
});

test('roles a template branches on are accepted', () => {
  assert.deepEqual(templateRoles("{% if message['role'] == 'ipython' %}x{% elif message.role == \"developer\" %}y{% endif %}").sort(), ['developer', 'ipython']);
});
