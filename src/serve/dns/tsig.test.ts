import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTsig, signReply, signRequest, unsignedErrorReply, verifyReply, verifyRequest, type TsigKey } from './tsig.js';
import { CLASS, OPCODE, RCODE, TYPE, buildReply, bytes, concat, parseMessage, txtValue } from './wire.js';

interface Vectors {
  readonly secret: string;
  readonly value: string;
  readonly vectors: readonly { readonly name: string; readonly message: string }[];
}

const fixture = JSON.parse(readFileSync(new URL('./tsig-vectors.json', import.meta.url), 'utf8')) as Vectors;
const secret = Buffer.from(fixture.secret, 'base64');
const algorithmOf: Record<string, TsigKey['algorithm']> = { 'nsupdate-md5': 'hmac-md5', 'nsupdate-sha256': 'hmac-sha256', 'nsupdate-soa-query-sha1': 'hmac-sha1', 'knsupdate-sha256': 'hmac-sha256' };

describe('TSIG against messages signed by the real nsupdate and knsupdate', () => {
  for (const vector of fixture.vectors) {
    const raw = Buffer.from(vector.message, 'base64');
    const message = parseMessage(raw);
    const tsig = readTsig(message);
    const key: TsigKey = { name: 'web1', algorithm: algorithmOf[vector.name] ?? 'hmac-sha256', secret };
    const now = tsig?.timeSigned ?? 0;

    it(`${vector.name}: verifies with the right key, at the time it was signed`, () => {
      expect(tsig?.keyName).toBe('web1');
      expect(verifyRequest(message, tsig!, key, now)).toBe('ok');
      expect(verifyRequest(message, tsig!, key, now + 299)).toBe('ok');
    });

    it(`${vector.name}: BADSIG with another secret, BADKEY for another algorithm or no key, BADTIME past the fudge`, () => {
      expect(verifyRequest(message, tsig!, { ...key, secret: Buffer.from('another secret') }, now)).toBe('BADSIG');
      expect(verifyRequest(message, tsig!, { ...key, algorithm: key.algorithm === 'hmac-sha512' ? 'hmac-sha1' : 'hmac-sha512' }, now)).toBe('BADKEY');
      expect(verifyRequest(message, tsig!, undefined, now)).toBe('BADKEY');
      expect(verifyRequest(message, tsig!, key, now + 301)).toBe('BADTIME');
      expect(verifyRequest(message, tsig!, key, now - 301)).toBe('BADTIME');
    });

    it(`${vector.name}: one flipped bit in the signed part is BADSIG`, () => {
      const tampered = Buffer.from(bytes(raw));
      tampered[20] = (tampered[20] ?? 0) ^ 0x01;
      const parsed = parseMessage(tampered);
      expect(verifyRequest(parsed, readTsig(parsed)!, key, now)).toBe('BADSIG');
    });
  }

  it('reads the update section: class IN TXT with the value nsupdate was given', () => {
    const message = parseMessage(Buffer.from(fixture.vectors[0]!.message, 'base64'));
    expect(message.opcode).toBe(OPCODE.UPDATE);
    expect(message.questions).toEqual([{ name: 'a.example.test', type: TYPE.SOA, klass: CLASS.IN }]);
    expect(message.authorities).toHaveLength(1);
    const [record] = message.authorities;
    expect({ name: record?.name, type: record?.type, klass: record?.klass, ttl: record?.ttl }).toEqual({ name: '_acme-challenge.a.example.test', type: TYPE.TXT, klass: CLASS.IN, ttl: 120 });
    expect(txtValue(record!.rdata)).toBe(fixture.value);
  });
});

describe('signed replies', () => {
  const key: TsigKey = { name: 'web1', algorithm: 'hmac-sha256', secret };

  it('a reply signed over the request MAC verifies; with another request MAC it does not', () => {
    const request = Buffer.from(fixture.vectors[1]!.message, 'base64');
    const parsed = parseMessage(request);
    const tsig = readTsig(parsed)!;
    const signed = signReply(buildReply({ request: parsed, rcode: RCODE.NOERROR }), key, { request: tsig, nowSeconds: tsig.timeSigned + 1 });
    const reply = parseMessage(signed);
    const replyTsig = readTsig(reply)!;
    expect(reply.qr).toBe(true);
    expect(reply.id).toBe(parsed.id);
    expect(verifyReply(signed, replyTsig, key, tsig.mac)).toBe(true);
    expect(verifyReply(signed, replyTsig, key, Buffer.alloc(tsig.mac.length))).toBe(false);
  });

  it('BADTIME replies carry the request time and the server time in Other Data; BADKEY replies carry no MAC', () => {
    const { message } = signRequest(buildQuery(), key, { nowSeconds: 1_000 });
    const parsed = parseMessage(message);
    const tsig = readTsig(parsed)!;
    const badTime = readTsig(parseMessage(signReply(buildReply({ request: parsed, rcode: RCODE.NOTAUTH }), key, { request: tsig, nowSeconds: 5_000, error: 'BADTIME' })))!;
    expect(badTime).toMatchObject({ timeSigned: 1_000, error: 18 });
    expect(badTime.otherData.readUIntBE(0, 6)).toBe(5_000);
    const badKey = readTsig(parseMessage(unsignedErrorReply(buildReply({ request: parsed, rcode: RCODE.NOTAUTH }), { request: tsig, nowSeconds: 5_000, error: 'BADKEY' })))!;
    expect(badKey).toMatchObject({ error: 17, keyName: 'web1' });
    expect(badKey.mac).toHaveLength(0);
  });

  it('a key name sent in upper case (certbot) verifies: the MAC uses the canonical name', () => {
    const upper: TsigKey = { ...key, name: 'WEB1' };
    const { message } = signRequest(buildQuery(), upper, { nowSeconds: 1_000, algorithmName: 'HMAC-SHA256' });
    const parsed = parseMessage(message);
    expect(verifyRequest(parsed, readTsig(parsed)!, key, 1_000)).toBe('ok');
  });
});

function buildQuery(): Buffer {
  const header = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const question = concat([Buffer.from([1, 0x61, 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]), Buffer.from([0, 6, 0, 1])]);
  return concat([header, question]);
}
