/**
 * Issue 19 items 6 and 7 through the real HTTP server: only ACME digests are written, and a
 * client removes or evicts only what it wrote through serve.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acmeDnsUpdate, digest, harness, httpreq, type Harness } from './bounds-harness.js';

const NAME = '_acme-challenge.a.example.test';
let h: Harness;
beforeEach(async () => void (h = await harness()));
afterEach(async () => h.dispose());

it('refuses a TXT value that is not an ACME digest on /present (400 naming the rule) and /update (bad_txt)', async () => {
  const client = await h.addClient('web1', ['a.example.test']);
  const { url } = await h.start();
  const present = await httpreq(url, 'present', client, `${NAME}.`, 'hello-world');
  expect(present.status).toBe(400);
  expect(JSON.parse(present.body)).toMatchObject({ error: 'bad_txt', message: expect.stringContaining('43 characters of base64url') });
  const update = await acmeDnsUpdate(url, client, 'a.example.test', 'v=spf1-include-evil');
  expect(update.status).toBe(400);
  expect(JSON.parse(update.body)).toEqual({ error: 'bad_txt' });
  expect(await h.store.txtValues(NAME)).toEqual([]);
});

it('/cleanup of a value serve did not write removes nothing (200, audit note not_owned)', async () => {
  const client = await h.addClient('web1', ['a.example.test']);
  const foreign = digest();
  await h.store.appendTxt(NAME, foreign);
  const { url } = await h.start();
  const answer = await httpreq(url, 'cleanup', client, `${NAME}.`, foreign);
  expect(answer.status).toBe(200);
  expect(await h.store.txtValues(NAME)).toEqual([foreign]);
  expect(h.audit).toContainEqual(expect.objectContaining({ client: 'web1', action: 'cleanup', note: 'not_owned' }));
});

it("a client sharing the domain cannot remove another client's value; the owner can, also after a restart", async () => {
  const owner = await h.addClient('web1', ['a.example.test']);
  const neighbour = await h.addClient('web2', ['a.example.test']);
  let { url } = await h.start();
  const value = digest();
  expect((await httpreq(url, 'present', owner, `${NAME}.`, value)).status).toBe(200);
  expect((await httpreq(url, 'cleanup', neighbour, `${NAME}.`, value)).status).toBe(200);
  expect(await h.store.txtValues(NAME)).toEqual([value]);
  await h.instance?.close(1_000);
  ({ url } = await h.start());
  expect((await httpreq(url, 'cleanup', owner, `${NAME}.`, value)).status).toBe(200);
  expect(await h.store.txtValues(NAME)).toEqual([]);
});

it('the same value written by two clients stays until both cleaned it up', async () => {
  const first = await h.addClient('web1', ['a.example.test']);
  const second = await h.addClient('web2', ['a.example.test']);
  const { url } = await h.start();
  const value = digest();
  await httpreq(url, 'present', first, `${NAME}.`, value);
  await httpreq(url, 'present', second, `${NAME}.`, value);
  await httpreq(url, 'cleanup', first, `${NAME}.`, value);
  expect(await h.store.txtValues(NAME)).toEqual([value]);
  await httpreq(url, 'cleanup', second, `${NAME}.`, value);
  expect(await h.store.txtValues(NAME)).toEqual([]);
});

it("acme-dns: one client's third /update evicts its own oldest value, never another client's", async () => {
  const other = await h.addClient('other', ['a.example.test']);
  const busy = await h.addClient('busy', ['a.example.test']);
  const { url } = await h.start();
  const kept = digest();
  expect((await acmeDnsUpdate(url, other, 'a.example.test', kept)).status).toBe(200);
  const own = [digest(), digest(), digest()];
  for (const value of own) expect((await acmeDnsUpdate(url, busy, 'a.example.test', value)).status).toBe(200);
  expect((await h.store.txtValues(NAME)).sort()).toEqual([kept, own[1], own[2]].sort());
});
