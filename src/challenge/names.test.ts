import { describe, expect, it } from 'vitest';
import { findZone, parseChallengeName, txtValueFromKeyAuthorization, validateTxtValue } from './names.js';

describe('parseChallengeName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['*.example.com', 'example.com'],
    ['_acme-challenge.example.com', 'example.com'],
    ['_acme-challenge.example.com.', 'example.com'],
    ['Sub.EXAMPLE.com.', 'sub.example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('%s -> _acme-challenge.%s', (input, domain) => {
    expect(parseChallengeName(input)).toEqual({ domain, fqdn: `_acme-challenge.${domain}` });
  });

  it.each([
    ['', /empty/],
    ['exa mple.com', /spaces/],
    [' example.com', /spaces/],
    ['example..com', /empty label/],
    ['.example.com', /empty label/],
    [`${'a'.repeat(64)}.com`, /64 characters long; the limit is 63/],
    [`${'abcdefghij.'.repeat(23)}com`, /limited to 253/],
    ['-bad.example.com', /cannot start or end with "-"/],
    ['ex"ample.com', /may only hold/],
    ['localhost', /fully qualified/],
  ])('rejects %j', (input, message) => {
    expect(() => parseChallengeName(input)).toThrow(message);
    try {
      parseChallengeName(input);
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid-name', exitCode: 2 });
    }
  });
});

describe('validateTxtValue', () => {
  it('accepts base64url values, also those starting with - or --', () => {
    for (const value of ['LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', '-abc_DEF', '--x-y']) expect(validateTxtValue(value)).toBe(value);
  });
  it.each([
    ['', /empty/],
    ['"quoted"', /quotes/],
    ["it's", /quotes/],
    ['a b', /whitespace/],
    ['tab\there', /whitespace/],
    ['naïve', /non-ASCII/],
    ['semi;colon', /outside base64url/],
    ['x'.repeat(256), /at most 255/],
  ])('rejects %j', (value, message) => {
    expect(() => validateTxtValue(value)).toThrow(message);
  });
});

describe('txtValueFromKeyAuthorization', () => {
  it('is base64url(sha256) without padding (RFC 8555 section 8.4)', () => {
    // Expected value computed independently: printf %s KEYAUTH | openssl dgst -sha256 -binary | basenc --base64url (minus the = pad)
    expect(txtValueFromKeyAuthorization('token.thumbprint')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(txtValueFromKeyAuthorization('evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI')).toBe('lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM');
  });
});

describe('findZone', () => {
  const zones = ['example.com', 'b.example.com', 'example.net'];
  it('picks the zone the name equals or ends with, the longest one first', () => {
    expect(findZone('_acme-challenge.a.example.com', zones)).toBe('example.com');
    expect(findZone('_acme-challenge.b.example.com', zones)).toBe('b.example.com');
    expect(findZone('example.net', zones)).toBe('example.net');
  });
  it('does not match a mere suffix of a label', () => {
    expect(findZone('_acme-challenge.notexample.com', zones)).toBeUndefined();
  });
});
