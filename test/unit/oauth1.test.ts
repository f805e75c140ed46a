import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import OAuth from 'oauth-1.0a';
import { describe, expect, it } from 'vitest';
import {
  MAX_OAUTH_HEADER_LENGTH,
  OAuthHeaderError,
  assertNoOAuthParamsOutsideHeader,
  baseStringUri,
  hmacSha1Signature,
  isTimestampFresh,
  parseFormUrlEncoded,
  parseOAuthAuthorizationHeader,
  percentEncode,
  signatureBaseString,
  verifyOAuthSignature,
  type OAuthParams,
} from '../../domain/oauth1';

function expectHeaderError(header: string | undefined, reason?: string, param?: string): OAuthHeaderError {
  let caught: unknown;
  try {
    parseOAuthAuthorizationHeader(header);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(OAuthHeaderError);
  const err = caught as OAuthHeaderError;
  if (reason !== undefined) expect(err.reason).toBe(reason);
  if (param !== undefined) {
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
  }
  return err;
}

// ---------------------------------------------------------------------------------------------
// RFC 5849 §3.1 / §3.4.1.1 example (POST /request with a form body)

/** RFC 5849 §3.4.1.1, verbatim (the RFC breaks it over lines "for display purposes only"). */
const RFC_3_4_1_1_BASE_STRING =
  'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q' +
  '%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_' +
  'key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m' +
  'ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk' +
  '9d7dh3k39sjv7';

const RFC_3_1_HEADER =
  'OAuth realm="Example",' +
  '                    oauth_consumer_key="9djdj82h48djs9d2",' +
  '                    oauth_token="kkk9d7dh3k39sjv7",' +
  '                    oauth_signature_method="HMAC-SHA1",' +
  '                    oauth_timestamp="137131201",' +
  '                    oauth_nonce="7d8f3e4a",' +
  '                    oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"';

describe('RFC 5849 §3.4.1.1 signature base string example', () => {
  const query = parseFormUrlEncoded('b5=%3D%253D&a3=a&c%40=&a2=r%20b');
  const body = parseFormUrlEncoded('c2&a3=2+q');

  it('decodes the query and form body like the RFC table in §3.4.1.3.1', () => {
    expect(query).toEqual([
      ['b5', '=%3D'],
      ['a3', 'a'],
      ['c@', ''],
      ['a2', 'r b'],
    ]);
    expect(body).toEqual([
      ['c2', ''],
      ['a3', '2 q'],
    ]);
  });

  it('parses the RFC header and builds the published base string', () => {
    const oauth = parseOAuthAuthorizationHeader(RFC_3_1_HEADER);
    expect(oauth.realm).toBe('Example');
    expect(oauth.signature).toBe('bYT5CMsGcbgUdFHObYMEfcx6bsw=');
    expect(oauth.params.map(([k]) => k)).not.toContain('realm');
    expect(oauth.params.map(([k]) => k)).not.toContain('oauth_signature');
    const base = signatureBaseString('POST', 'http://example.com/request', [...query, ...body, ...oauth.params]);
    expect(base).toBe(RFC_3_4_1_1_BASE_STRING);
  });

  it('ignores the query in baseUrl and normalizes case and default port', () => {
    const params: Array<[string, string]> = [...query, ...body, ...parseOAuthAuthorizationHeader(RFC_3_1_HEADER).params];
    expect(signatureBaseString('post', 'HTTP://EXAMPLE.COM:80/request?b5=%3D%253D', params)).toBe(
      RFC_3_4_1_1_BASE_STRING,
    );
  });

  it('signature with the §3.1 secrets: the published bYT5… is RFC erratum 2550; the corrected value verifies', () => {
    // RFC 5849 §3.1 gives client secret "j49sk3j29djd", token secret "dh893hdasih9" and prints
    // oauth_signature "bYT5CMsGcbgUdFHObYMEfcx6bsw=". That printed value is wrong: RFC Errata ID
    // 2550 corrects it to "r6/TJjbCOr97/+UU0NsvSne7s5g=", the value independent implementations
    // compute from the RFC's own (verified above) base string. Cross-check, independent of this code:
    //   printf '%s' "$BASE" | openssl dgst -sha1 -hmac 'j49sk3j29djd&dh893hdasih9' -binary | base64
    const oracle = createHmac('sha1', 'j49sk3j29djd&dh893hdasih9').update(RFC_3_4_1_1_BASE_STRING).digest('base64');
    expect(oracle).toBe('r6/TJjbCOr97/+UU0NsvSne7s5g=');
    expect(hmacSha1Signature(RFC_3_4_1_1_BASE_STRING, 'j49sk3j29djd', 'dh893hdasih9')).toBe(
      'r6/TJjbCOr97/+UU0NsvSne7s5g=',
    );

    const printed = parseOAuthAuthorizationHeader(RFC_3_1_HEADER);
    const input = {
      method: 'POST',
      baseUrl: 'http://example.com/request',
      queryParams: query,
      bodyParams: body,
      consumerSecret: 'j49sk3j29djd',
      tokenSecret: 'dh893hdasih9',
    };
    expect(verifyOAuthSignature({ ...input, oauth: printed })).toBe(false);
    expect(verifyOAuthSignature({ ...input, oauth: { ...printed, signature: 'r6/TJjbCOr97/+UU0NsvSne7s5g=' } })).toBe(
      true,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The photos.example.net HMAC-SHA1 examples

describe('photos.example.net HMAC-SHA1 examples', () => {
  const consumerSecret = 'kd94hf93k423kf44';
  const tokenSecret = 'pfkkdhi9sl3r4s00';
  const query = parseFormUrlEncoded('file=vacation.jpg&size=original');

  it('RFC 5849 §1.2: GET /photos, nonce chapoH, timestamp 137131202 → MdpQcU8iPSUjWoN/UDMsK2sui9I=', () => {
    // Verbatim from RFC 5849 §1.2 (no oauth_version in this header).
    const header =
      'OAuth realm="Photos",' +
      '   oauth_consumer_key="dpf43f3p2l4k3l03",' +
      '   oauth_token="nnch734d00sl2jdk",' +
      '   oauth_signature_method="HMAC-SHA1",' +
      '   oauth_timestamp="137131202",' +
      '   oauth_nonce="chapoH",' +
      '   oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"';
    const oauth = parseOAuthAuthorizationHeader(header);
    expect(oauth).toMatchObject({
      consumerKey: 'dpf43f3p2l4k3l03',
      token: 'nnch734d00sl2jdk',
      signatureMethod: 'HMAC-SHA1',
      timestamp: 137131202,
      nonce: 'chapoH',
      signature: 'MdpQcU8iPSUjWoN/UDMsK2sui9I=',
      realm: 'Photos',
    });
    expect(oauth.version).toBeUndefined();
    const base = signatureBaseString('GET', 'http://photos.example.net/photos', [...query, ...oauth.params]);
    expect(hmacSha1Signature(base, consumerSecret, tokenSecret)).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
    expect(
      verifyOAuthSignature({
        method: 'GET',
        baseUrl: 'http://photos.example.net/photos',
        queryParams: query,
        oauth,
        consumerSecret,
        tokenSecret,
      }),
    ).toBe(true);
  });

  it('OAuth Core 1.0 Appendix A.5: nonce kllo9940pd9333jh, timestamp 1191242096, version 1.0 → tR3+Ty81lMeYAr/Fid0kMTYa/WM=', () => {
    const header =
      'OAuth realm="http://photos.example.net/", oauth_consumer_key="dpf43f3p2l4k3l03", ' +
      'oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", ' +
      'oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D", oauth_timestamp="1191242096", ' +
      'oauth_nonce="kllo9940pd9333jh", oauth_version="1.0"';
    const oauth = parseOAuthAuthorizationHeader(header);
    expect(oauth.version).toBe('1.0');
    expect(oauth.signature).toBe('tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
    const base = signatureBaseString('GET', 'http://photos.example.net/photos', [...query, ...oauth.params]);
    // Published signature base string (OAuth Core 1.0, Appendix A.5.1).
    expect(base).toBe(
      'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03' +
        '%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096' +
        '%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal',
    );
    expect(hmacSha1Signature(base, consumerSecret, tokenSecret)).toBe('tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
    expect(
      verifyOAuthSignature({
        method: 'GET',
        baseUrl: 'http://photos.example.net/photos',
        queryParams: query,
        oauth,
        consumerSecret,
        tokenSecret,
      }),
    ).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers

describe('percentEncode and base string URI', () => {
  it('encodes per RFC 3986 unreserved only, uppercase hex, UTF-8', () => {
    expect(percentEncode('AZaz09-._~')).toBe('AZaz09-._~');
    expect(percentEncode(" !\"#$%&'()*+,/:;=?@[]")).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D',
    );
    expect(percentEncode('é✓😀')).toBe('%C3%A9%E2%9C%93%F0%9F%98%80');
    expect(percentEncode('\n')).toBe('%0A');
    expect(percentEncode('\ud800')).toBe('%EF%BF%BD'); // lone surrogate does not throw
  });

  it('builds the RFC 5849 §3.4.1.2 base string URIs', () => {
    expect(baseStringUri('http://EXAMPLE.COM:80/r%20v/X?id=123')).toBe('http://example.com/r%20v/X');
    expect(baseStringUri('https://www.example.net:8080/?q=1')).toBe('https://www.example.net:8080/');
    expect(baseStringUri('https://Example.com:443')).toBe('https://example.com/');
    expect(baseStringUri('https://[::1]:8443/dep/session#x')).toBe('https://[::1]:8443/dep/session');
    expect(() => baseStringUri('ftp://example.com/')).toThrow(TypeError);
    expect(() => baseStringUri('/dep/session')).toThrow(TypeError);
  });

  it('isTimestampFresh accepts the window in both directions only', () => {
    expect(isTimestampFresh(1000, 1000, 300)).toBe(true);
    expect(isTimestampFresh(700, 1000, 300)).toBe(true);
    expect(isTimestampFresh(1300, 1000, 300)).toBe(true);
    expect(isTimestampFresh(699, 1000, 300)).toBe(false);
    expect(isTimestampFresh(1301, 1000, 300)).toBe(false);
    expect(isTimestampFresh(Number.NaN, 1000, 300)).toBe(false);
    expect(isTimestampFresh(1000, 1000, -1)).toBe(false);
  });

  it('assertNoOAuthParamsOutsideHeader refuses protocol params in the query or body', () => {
    expect(() => assertNoOAuthParamsOutsideHeader([['a', 'b']], undefined)).not.toThrow();
    expect(() => assertNoOAuthParamsOutsideHeader([['a', 'b']], [['oauth_nonce', 'x']])).toThrow(OAuthHeaderError);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip with an independent client library

describe('round trip with oauth-1.0a', () => {
  const consumer = { key: 'CK_3c7d1f0e9a', secret: 'CS_8a/b+c=d&e f' };
  const token = { key: 'AT_O7a9c1b2d3e4f5|x', secret: 'AS_s3cr3t~!*()' };
  const client = new OAuth({
    consumer,
    signature_method: 'HMAC-SHA1',
    realm: 'ADM',
    hash_function(baseString: string, key: string): string {
      return createHmac('sha1', key).update(baseString).digest('base64');
    },
  });
  const url = 'https://dep.example.test:8443/dep/session?b=2&a=hello%20world&c=%E2%9C%93';
  const baseUrl = 'https://dep.example.test:8443/dep/session';
  const queryParams = parseFormUrlEncoded('b=2&a=hello%20world&c=%E2%9C%93');

  function signedHeader(): string {
    return client.toHeader(client.authorize({ url, method: 'GET' }, token)).Authorization;
  }

  function verify(oauth: OAuthParams, overrides: Partial<Parameters<typeof verifyOAuthSignature>[0]> = {}): boolean {
    return verifyOAuthSignature({
      method: 'GET',
      baseUrl,
      queryParams,
      oauth,
      consumerSecret: consumer.secret,
      tokenSecret: token.secret,
      ...overrides,
    });
  }

  it('parses and verifies what the library signs', () => {
    const oauth = parseOAuthAuthorizationHeader(signedHeader());
    expect(oauth.consumerKey).toBe(consumer.key);
    expect(oauth.token).toBe(token.key);
    expect(oauth.version).toBe('1.0');
    expect(oauth.realm).toBe('ADM');
    expect(isTimestampFresh(oauth.timestamp, Math.floor(Date.now() / 1000), 300)).toBe(true);
    expect(verify(oauth)).toBe(true);
  });

  it('fails for a changed secret, URL, query, method or tampered parameter', () => {
    const oauth = parseOAuthAuthorizationHeader(signedHeader());
    expect(verify(oauth, { consumerSecret: consumer.secret + 'x' })).toBe(false);
    expect(verify(oauth, { tokenSecret: 'AS_other' })).toBe(false);
    expect(verify(oauth, { baseUrl: 'https://dep.example.test:8443/dep/account' })).toBe(false);
    expect(verify(oauth, { baseUrl: 'https://other.example.test:8443/dep/session' })).toBe(false);
    expect(verify(oauth, { baseUrl: 'https://dep.example.test/dep/session' })).toBe(false);
    expect(verify(oauth, { queryParams: parseFormUrlEncoded('b=3&a=hello%20world&c=%E2%9C%93') })).toBe(false);
    expect(verify(oauth, { queryParams: [...queryParams, ['d', '1']] })).toBe(false);
    expect(verify(oauth, { queryParams: [] })).toBe(false);
    expect(verify(oauth, { method: 'POST' })).toBe(false);
    const tampered = {
      ...oauth,
      params: oauth.params.map(([k, v]): [string, string] => [k, k === 'oauth_nonce' ? v + 'x' : v]),
    };
    expect(verify(tampered)).toBe(false);
    expect(verify({ ...oauth, signature: oauth.signature.slice(0, -2) })).toBe(false);
    expect(verify({ ...oauth, signature: '' })).toBe(false);
    expect(verify(oauth, { baseUrl: 'not a url' })).toBe(false);
  });

  it('signs a request without query parameters', () => {
    const header = client.toHeader(client.authorize({ url: baseUrl, method: 'GET' }, token)).Authorization;
    const oauth = parseOAuthAuthorizationHeader(header);
    expect(verify(oauth, { queryParams: [] })).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Header syntax

const VALID_PARAMS: Array<[string, string]> = [
  ['oauth_consumer_key', 'CK_abc'],
  ['oauth_token', 'AT_def'],
  ['oauth_signature_method', 'HMAC-SHA1'],
  ['oauth_timestamp', '1700000000'],
  ['oauth_nonce', 'n0nce'],
  ['oauth_signature', 'c2lnbmF0dXJl%2B%2F%3D'],
];

function header(params: Array<[string, string]>, sep = ', '): string {
  return 'OAuth ' + params.map(([k, v]) => `${k}="${v}"`).join(sep);
}

describe('parseOAuthAuthorizationHeader accepts', () => {
  it('a well-formed header, decoding values', () => {
    const oauth = parseOAuthAuthorizationHeader(header(VALID_PARAMS));
    expect(oauth).toEqual({
      consumerKey: 'CK_abc',
      token: 'AT_def',
      signatureMethod: 'HMAC-SHA1',
      timestamp: 1700000000,
      nonce: 'n0nce',
      signature: 'c2lnbmF0dXJl+/=',
      params: [
        ['oauth_consumer_key', 'CK_abc'],
        ['oauth_token', 'AT_def'],
        ['oauth_signature_method', 'HMAC-SHA1'],
        ['oauth_timestamp', '1700000000'],
        ['oauth_nonce', 'n0nce'],
      ],
    });
  });

  it('case-insensitive scheme, optional whitespace, tabs, empty list elements', () => {
    for (const h of [
      header(VALID_PARAMS).replace('OAuth', 'oauth'),
      header(VALID_PARAMS).replace('OAuth', 'OAUTH'),
      header(VALID_PARAMS, ','),
      header(VALID_PARAMS, ' ,\t'),
      '  ' + header(VALID_PARAMS, ',,  ') + ' , ',
      header(VALID_PARAMS).replace('oauth_nonce="', 'oauth_nonce = "'),
    ]) {
      expect(parseOAuthAuthorizationHeader(h).nonce).toBe('n0nce');
    }
  });

  it('realm (any case, quoted-pair escapes) excluded from signing, other oauth_* params kept', () => {
    const oauth = parseOAuthAuthorizationHeader(
      header([['Realm', 'a \\"b\\" c'], ...VALID_PARAMS, ['oauth_version', '1.0'], ['oauth_body_hash', 'x%2By']]),
    );
    expect(oauth.realm).toBe('a "b" c');
    expect(oauth.version).toBe('1.0');
    expect(oauth.params).toContainEqual(['oauth_version', '1.0']);
    expect(oauth.params).toContainEqual(['oauth_body_hash', 'x+y']);
    expect(oauth.params.some(([k]) => k.toLowerCase() === 'realm')).toBe(false);
  });

  it('UTF-8 percent-encoded values', () => {
    const params = VALID_PARAMS.map(([k, v]): [string, string] => [k, k === 'oauth_nonce' ? '%E2%9C%93%20x' : v]);
    expect(parseOAuthAuthorizationHeader(header(params)).nonce).toBe('✓ x');
  });
});

describe('parseOAuthAuthorizationHeader refuses with OAuthHeaderError', () => {
  it('missing header', () => {
    expectHeaderError(undefined, 'missing_header');
    expectHeaderError('', 'missing_header');
  });

  it('wrong scheme', () => {
    expectHeaderError('Bearer abc', 'invalid_scheme');
    expectHeaderError('Basic dXNlcjpwYXNz', 'invalid_scheme');
    expectHeaderError(header(VALID_PARAMS).replace('OAuth ', 'OAuth2 '), 'invalid_scheme');
    expectHeaderError(header(VALID_PARAMS).replace('OAuth ', 'OAuth'), 'invalid_scheme');
    expectHeaderError('"OAuth"', 'invalid_scheme');
  });

  it('another signature method (PLAINTEXT, RSA-SHA1, lower case, HMAC-SHA256)', () => {
    for (const m of ['PLAINTEXT', 'RSA-SHA1', 'hmac-sha1', 'HMAC-SHA256']) {
      const params = VALID_PARAMS.map(([k, v]): [string, string] => [k, k === 'oauth_signature_method' ? m : v]);
      expectHeaderError(header(params), 'unsupported_signature_method', 'oauth_signature_method');
    }
  });

  it('each required param missing (named) or empty', () => {
    for (const [name] of VALID_PARAMS) {
      expectHeaderError(header(VALID_PARAMS.filter(([k]) => k !== name)), 'missing_param', name);
      const empty = VALID_PARAMS.map(([k, v]): [string, string] => [k, k === name ? '' : v]);
      expectHeaderError(header(empty), 'empty_param', name);
    }
    expectHeaderError('OAuth', 'missing_param', 'oauth_consumer_key');
    expectHeaderError('OAuth realm="x"', 'missing_param', 'oauth_consumer_key');
  });

  it('duplicate params (also after decoding the name, and realm)', () => {
    expectHeaderError(header([...VALID_PARAMS, ['oauth_nonce', 'other']]), 'duplicate_param', 'oauth_nonce');
    expectHeaderError(header([...VALID_PARAMS, ['oauth_signature', 'x']]), 'duplicate_param', 'oauth_signature');
    expectHeaderError(header([...VALID_PARAMS, ['oauth%5Fnonce', 'n0nce']]), 'duplicate_param', 'oauth_nonce');
    expectHeaderError(header([['realm', 'a'], ...VALID_PARAMS, ['REALM', 'b']]), 'duplicate_param', 'realm');
  });

  it('non-numeric or non-positive timestamp', () => {
    for (const t of ['abc', '12.5', '-1', '+5', '0', '0x10', '1e9', ' 1700000000', '1700000000 ', '99999999999999999999']) {
      const params = VALID_PARAMS.map(([k, v]): [string, string] => [k, k === 'oauth_timestamp' ? t : v]);
      expectHeaderError(header(params), undefined, 'oauth_timestamp');
    }
  });

  it('oauth_version other than 1.0', () => {
    for (const v of ['2.0', '1.0a', '1']) {
      expectHeaderError(header([...VALID_PARAMS, ['oauth_version', v]]), 'invalid_version', 'oauth_version');
    }
  });

  it('garbage and syntax errors', () => {
    for (const g of [
      'garbage',
      '\u0000',
      'OAuth ,,,=',
      'OAuth oauth_consumer_key',
      'OAuth oauth_consumer_key=CK_abc',
      'OAuth oauth_consumer_key="a" oauth_token="b"',
      'OAuth oauth_consumer_key="a";oauth_token="b"',
      'OAuth oauth_consumer_key="a\nb"',
      'OAuth oauth_consumer_key="é"',
      'OAuth "oauth_consumer_key"="a"',
      'OAuth o@uth="a"',
    ]) {
      expectHeaderError(g);
    }
  });

  it('unterminated quote', () => {
    expectHeaderError('OAuth oauth_consumer_key="abc', 'unterminated_quote', 'oauth_consumer_key');
    expectHeaderError(header(VALID_PARAMS) + ', oauth_version="1.0', 'unterminated_quote', 'oauth_version');
    expectHeaderError('OAuth realm="abc\\"', 'unterminated_quote', 'realm');
    expectHeaderError('OAuth realm="abc\\', 'unterminated_quote', 'realm');
  });

  it('invalid percent-encoding or UTF-8', () => {
    for (const bad of ['%', '%4', '%G1', '%FF', '%C3%28', 'a%2']) {
      const params = VALID_PARAMS.map(([k, v]): [string, string] => [k, k === 'oauth_nonce' ? bad : v]);
      expectHeaderError(header(params), 'invalid_encoding');
    }
  });

  it('parameters other than realm and oauth_*', () => {
    expectHeaderError(header([...VALID_PARAMS, ['foo', 'bar']]), 'unsupported_param', 'foo');
  });

  it('over-long header and too many params', () => {
    const long = header(VALID_PARAMS) + ', oauth_x="' + 'a'.repeat(MAX_OAUTH_HEADER_LENGTH) + '"';
    expectHeaderError(long, 'header_too_long');
    const many: Array<[string, string]> = [...VALID_PARAMS];
    for (let i = 0; i < 40; i++) many.push([`oauth_x${i}`, 'y']);
    expectHeaderError(header(many), 'too_many_params');
  });

  it('a non-string header value (e.g. an array at run time)', () => {
    expectHeaderError(['OAuth a="b"'] as unknown as string);
  });
});

describe('parseOAuthAuthorizationHeader on hostile input', () => {
  const alphabet = fc.constantFrom(
    'OAuth ', 'oauth', ' ', '\t', ',', '=', '"', '\\', '%', '%2', '%E2', '%9C', 'realm', 'oauth_nonce',
    'oauth_timestamp', 'oauth_signature_method', 'HMAC-SHA1', 'oauth_', 'a', '1', '\u0000', 'é', '😀', '\ud800',
  );
  const fragments = fc.array(alphabet, { maxLength: 400, size: 'large' }).map((parts) => parts.join(''));

  function assertOnlyHeaderErrors(input: string): void {
    const started = performance.now();
    try {
      const result = parseOAuthAuthorizationHeader(input);
      expect(result.signatureMethod).toBe('HMAC-SHA1');
    } catch (err) {
      expect(err).toBeInstanceOf(OAuthHeaderError);
    }
    expect(performance.now() - started).toBeLessThan(200);
  }

  it('arbitrary strings only ever throw OAuthHeaderError, quickly', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 5000, size: 'large' }), assertOnlyHeaderErrors), { numRuns: 1000 });
    fc.assert(fc.property(fragments, assertOnlyHeaderErrors), { numRuns: 2000 });
    fc.assert(
      fc.property(fragments, (tail) => assertOnlyHeaderErrors(header(VALID_PARAMS) + tail)),
      { numRuns: 1000 },
    );
  });

  it('worst-case inputs near the length cap finish quickly', () => {
    const n = MAX_OAUTH_HEADER_LENGTH - 10;
    for (const h of [
      'OAuth ' + 'a'.repeat(n),
      'OAuth ' + ' '.repeat(n),
      'OAuth ' + ','.repeat(n),
      'OAuth a="' + '\\"'.repeat(n / 2 - 10),
      'OAuth a="' + '%'.repeat(n - 10) + '"',
      'OAuth ' + 'a="",'.repeat(Math.floor(n / 5)),
    ]) {
      assertOnlyHeaderErrors(h);
    }
  });
});
