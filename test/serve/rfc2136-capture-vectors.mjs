// Captures, once, UPDATE messages signed by the real nsupdate (BIND 9.18) and knsupdate
// (Knot 3.2) into src/serve/dns/tsig-vectors.json: the fixed vectors the TSIG codec's unit
// tests verify against. Run inside a loopback-only namespace:
//   unshare -n bash -c 'ip link set lo up && node test/serve/rfc2136-capture-vectors.mjs'
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';

const SECRET = Buffer.from('miab-dns01 fixed test vector secret!').toString('base64');
const VALUE = 'w2S5rkGqXm1BQ9Gf0ixRNd8yHvLqk7cZpT3eJ4oAaUE';

async function capture(name, command, args, script) {
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const received = new Promise((resolve) => socket.once('message', (message) => resolve(message)));
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(script.replaceAll('PORT', String(port)));
  const message = await received;
  child.kill('SIGKILL');
  socket.close();
  return { name, tool: `${command} ${args.join(' ').replace(SECRET, '<secret>')}`, message: message.toString('base64') };
}

const body = (zone) => `server 127.0.0.1 PORT\n${zone ? 'zone a.example.test\n' : ''}update add _acme-challenge.a.example.test 120 TXT "${VALUE}"\nsend\n`;
const vectors = [
  await capture('nsupdate-md5', 'nsupdate', ['-y', `hmac-md5:web1.:${SECRET}`], body(true)),
  await capture('nsupdate-sha256', 'nsupdate', ['-y', `hmac-sha256:web1.:${SECRET}`], body(true)),
  await capture('nsupdate-soa-query-sha1', 'nsupdate', ['-y', `hmac-sha1:web1.:${SECRET}`], body(false)),
  await capture('knsupdate-sha256', 'knsupdate', ['-y', `hmac-sha256:web1.:${SECRET}`], body(true)),
];
await writeFile(new URL('../../src/serve/dns/tsig-vectors.json', import.meta.url), `${JSON.stringify({ secret: SECRET, value: VALUE, vectors }, null, 2)}\n`);
console.log(`captured ${vectors.length} messages`);
