import * as dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { cnameChain, decodeResponse, encodeQuery, EDNS_UDP_PAYLOAD, newQueryId, rcodeName, ResponseMismatch, sameName, stringRecords, txtValues, type QuerySpec } from './packet.js';

const query: QuerySpec = { id: 4242, name: '_acme-challenge.example.test', type: 'TXT', recursionDesired: false, edns: true };

function reply(overrides: Partial<Packet> = {}, rcode = 0): Buffer {
  const message = dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: query.name, type: 'TXT', class: 'IN' }],
    answers: [],
    ...overrides,
  });
  message.writeUInt16BE((message.readUInt16BE(2) & ~0xf) | rcode, 2);
  return message;
}

describe('encodeQuery', () => {
  it('sets RD only when asked, and adds EDNS0 with a 4096-byte payload', () => {
    const authoritative = dnsPacket.decode(encodeQuery(query));
    expect(authoritative.flag_rd).toBe(false);
    expect(authoritative.flag_qr).toBe(false);
    expect(authoritative.id).toBe(4242);
    expect(authoritative.questions).toEqual([{ name: query.name, type: 'TXT', class: 'IN' }]);
    const opt = authoritative.additionals?.find((record) => record.type === 'OPT');
    expect(opt).toMatchObject({ type: 'OPT', udpPayloadSize: EDNS_UDP_PAYLOAD });
    expect(EDNS_UDP_PAYLOAD).toBe(4096);

    const recursive = dnsPacket.decode(encodeQuery({ ...query, recursionDesired: true, edns: false }));
    expect(recursive.flag_rd).toBe(true);
    expect(recursive.additionals).toEqual([]);
  });
});

describe('newQueryId', () => {
  it('gives 16-bit IDs that vary', () => {
    const ids = Array.from({ length: 200 }, newQueryId);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffff)).toBe(true);
    expect(new Set(ids).size).toBeGreaterThan(150);
  });
});

describe('decodeResponse', () => {
  it('accepts a reply to our question, whatever the case of the echoed name', () => {
    const response = decodeResponse(reply({ questions: [{ name: '_ACME-Challenge.Example.TEST', type: 'TXT', class: 'IN' }] }), query);
    expect(response).toMatchObject({ id: 4242, rcode: 'NOERROR', authoritative: true, truncated: false });
  });

  it('reads flags and rcodes', () => {
    expect(decodeResponse(reply({ flags: dnsPacket.TRUNCATED_RESPONSE }), query)).toMatchObject({ authoritative: false, truncated: true });
    expect(decodeResponse(reply({}, 3), query).rcode).toBe('NXDOMAIN');
    expect(decodeResponse(reply({}, 5), query).rcode).toBe('REFUSED');
    expect(decodeResponse(reply({}, 2), query).rcode).toBe('SERVFAIL');
  });

  it('combines the EDNS extended rcode (BADVERS = 16)', () => {
    const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, extendedRcode: 1, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
    const response = decodeResponse(reply({ additionals: [opt] }), query);
    expect(response.rcode).toBe('BADVERS');
    expect(response.additionals).toEqual([]);
  });

  it.each<[string, Buffer, RegExp]>([
    ['another ID', reply({ id: 4243 }), /ID 4243/],
    ['a query (QR clear)', dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: query.name, type: 'TXT' }] }), /QR/],
    ['another name', reply({ questions: [{ name: 'other.example.test', type: 'TXT', class: 'IN' }] }), /question for other/],
    ['another type', reply({ questions: [{ name: query.name, type: 'A', class: 'IN' }] }), /type A/],
    ['another class', reply({ questions: [{ name: query.name, type: 'TXT', class: 'CH' }] }), /class CH/],
    ['no question', reply({ questions: [] }), /0 questions/],
    [
      'two questions',
      reply({
        questions: [
          { name: query.name, type: 'TXT', class: 'IN' },
          { name: query.name, type: 'TXT', class: 'IN' },
        ],
      }),
      /2 questions/,
    ],
    ['garbage', Buffer.from([1, 2, 3]), /undecodable/],
  ])('rejects %s', (_label, message, why) => {
    expect(() => decodeResponse(message, query)).toThrow(ResponseMismatch);
    expect(() => decodeResponse(message, query)).toThrow(why);
  });

  it('rejects another opcode', () => {
    const message = reply();
    message.writeUInt16BE(message.readUInt16BE(2) | (4 << 11), 2); // NOTIFY
    expect(() => decodeResponse(message, query)).toThrow(/opcode 4/);
  });
});

describe('answer helpers', () => {
  const answers: Answer[] = [
    { type: 'TXT', name: '_acme-challenge.example.test', data: [Buffer.from('a'.repeat(255)), Buffer.from('bc')] },
    { type: 'TXT', name: '_ACME-challenge.example.test', data: 'second' },
    { type: 'TXT', name: 'elsewhere.example.test', data: 'not ours' },
    { type: 'CNAME', name: 'alias.example.test', data: 'target.other.test' },
    { type: 'CNAME', name: 'target.other.test', data: 'final.other.test' },
    { type: 'A', name: 'final.other.test', data: '192.0.2.1' },
    { type: 'A', name: 'unrelated.test', data: '192.0.2.2' },
  ];

  it('joins the strings of each TXT record at the name', () => {
    expect(txtValues(answers, '_acme-challenge.example.test')).toEqual([`${'a'.repeat(255)}bc`, 'second']);
  });

  it('follows CNAME chains and stops on loops', () => {
    expect(cnameChain(answers, 'alias.example.test')).toEqual(['alias.example.test', 'target.other.test', 'final.other.test']);
    const loop: Answer[] = [
      { type: 'CNAME', name: 'a.test', data: 'b.test' },
      { type: 'CNAME', name: 'b.test', data: 'a.test' },
    ];
    expect(cnameChain(loop, 'a.test')).toEqual(['a.test', 'b.test']);
    expect(stringRecords(answers, cnameChain(answers, 'alias.example.test'), 'A')).toEqual(['192.0.2.1']);
  });

  it('compares names case-insensitively, ignoring a trailing dot', () => {
    expect(sameName('Example.TEST.', 'example.test')).toBe(true);
    expect(sameName('example.test', 'example.tes')).toBe(false);
  });

  it('names rcodes', () => {
    expect(rcodeName(0)).toBe('NOERROR');
    expect(rcodeName(9)).toBe('NOTAUTH');
    expect(rcodeName(23)).toBe('RCODE23');
  });
});
