import { describe, expect, it } from 'vitest';
import { absoluteOwner, addTxtJson, characterStrings, cnameAt, parseZoneData, txtAt, txtValue, zoneFor } from './zone.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const line = (index: number, dname: string, type: string, data: string[]): unknown => ({ line_index: index, type: 'record', dname_b64: b64(dname), record_type: type, ttl: 300, data_b64: data.map(b64) });

describe('parse_zone reading', () => {
  const data = [
    { line_index: 0, type: 'control', text_b64: b64('$TTL 14400') },
    line(1, 'example.test.', 'SOA', ['ns1.', 'host.', '2026113005', '1', '2', '3', '4']),
    line(2, '_acme-challenge', 'TXT', ['rel']),
    line(3, '_acme-challenge.example.test.', 'TXT', ['part1', 'part2']),
    line(4, 'www', 'CNAME', ['target']),
    line(5, 'mail', 'CNAME', ['Other.Test.']),
  ];

  it('finds the serial in data_b64[2] of the SOA and makes owners absolute', () => {
    const parsed = parseZoneData('example.test', data, 'read');
    expect(parsed.serial).toBe('2026113005');
    expect(txtAt(parsed, '_acme-challenge.example.test').map((r) => [r.lineIndex, txtValue(r)])).toEqual([
      [2, 'rel'],
      [3, 'part1part2'],
    ]);
    expect(cnameAt(parsed, 'www.example.test')).toBe('target.example.test');
    expect(cnameAt(parsed, 'mail.example.test')).toBe('other.test');
    expect(cnameAt(parsed, 'none.example.test')).toBeUndefined();
  });

  it('refuses a zone without SOA serial (no lock to edit with)', () => {
    expect(() => parseZoneData('example.test', [line(0, 'a', 'TXT', ['x'])], 'read')).toThrow(/no SOA serial/);
  });

  it('builds the add JSON with the absolute owner and data as an array', () => {
    expect(JSON.parse(addTxtJson('_acme-challenge.example.test', 'v', 300))).toEqual({ dname: '_acme-challenge.example.test.', ttl: 300, record_type: 'TXT', data: ['v'] });
    expect(characterStrings('y'.repeat(600)).map((part) => part.length)).toEqual([255, 255, 90]);
  });

  it('resolves names and picks the longest zone suffix', () => {
    expect(absoluteOwner('@', 'example.test')).toBe('example.test');
    expect(zoneFor('a.sub.example.test', ['example.test', 'sub.example.test'])).toBe('sub.example.test');
    expect(zoneFor('notexample.test', ['example.test'])).toBeUndefined();
  });
});
