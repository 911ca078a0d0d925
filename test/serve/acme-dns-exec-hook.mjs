#!/usr/bin/env node
// lego exec provider hook (EXEC_MODE=RAW) that speaks acme-dns to `serve` exactly as lego's own
// acme-dns provider (nrdcg/goacmedns) does: account from the storage map in
// ACME_DNS_STORAGE_PATH keyed by the domain, `POST <server_url>/update` with X-Api-User /
// X-Api-Key, Content-Type application/json, body {"SubDomain": ..., "Txt": ...} (Go field
// names), and no call at all for cleanup: acme-dns has no delete.
// argv (RAW): present|cleanup -- <domain> <token> <keyAuth>
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const [action, ...rest] = process.argv.slice(2);
const args = rest[0] === '--' ? rest.slice(1) : rest;
if (action !== 'present') process.exit(0);
const [domain, , keyAuth] = args;
const storage = JSON.parse(readFileSync(process.env.ACME_DNS_STORAGE_PATH, 'utf8'));
const account = storage[domain];
if (!account) {
  process.stderr.write(`acme-dns hook: no account for ${domain}\n`);
  process.exit(1);
}
const txt = createHash('sha256').update(keyAuth).digest('base64url');
const body = JSON.stringify({ SubDomain: account.subdomain, Txt: txt });
const url = new URL(`${account.server_url}/update`);
const req = request(
  url,
  {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'goacmedns (linux; amd64)',
      'X-Api-User': account.username,
      'X-Api-Key': account.password,
      'Content-Length': Buffer.byteLength(body),
    },
  },
  (response) => {
    let text = '';
    response.on('data', (chunk) => (text += chunk));
    response.on('end', () => {
      if (response.statusCode !== 200) {
        process.stderr.write(`acme-dns hook: failed to update txt record : status code ${response.statusCode} response: ${text}\n`);
        process.exit(1);
      }
      process.exit(0);
    });
  },
);
req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
req.on('error', (error) => {
  process.stderr.write(`acme-dns hook: ${error.message}\n`);
  process.exit(1);
});
req.end(body);
