import { validateHeaderValue } from 'node:http';
import { parse as parseContentDisposition } from 'content-disposition';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenDownloadHeaders } from '../../api/token-download';
import { normalizeServerName } from '../../domain/server-name';

// Issue 12: a name in any script must download its token, and the download's headers are built
// before anything is issued. Here: every name the name rules accept gives headers Node can send,
// whose filename* carries the name and whose filename is a printable-ASCII fallback.
const acceptedName = fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }).chain((raw) => {
  try {
    return fc.constant(normalizeServerName(raw).display);
  } catch {
    return fc.constant('Fallback MDM');
  }
});

describe('token download headers', () => {
  it('any accepted name gives sendable headers naming the file in filename* with an ASCII fallback', () => {
    const issuedAt = new Date('2026-03-04T05:06:07Z');
    fc.assert(
      fc.property(fc.oneof(acceptedName, fc.constantFrom('日本語 MDM', '🚀 Launch 👩‍💻', 'Zero\u200bWidth', 'שרת \u202eevil\u202c', 'Café "Nord"', '100% MDM')), (name) => {
        const headers = tokenDownloadHeaders(name, issuedAt, '00000000-0000-4000-8000-000000000000');
        for (const [header, value] of Object.entries(headers)) expect(() => validateHeaderValue(header, value)).not.toThrow();
        const disposition = headers['Content-Disposition'] ?? '';
        expect(parseContentDisposition(disposition).parameters.filename).toMatch(/_Token_2026-03-04T05-06-07Z_smime\.p7m$/);
        const fallback = parseContentDisposition(disposition, { extended: false }).parameters.filename ?? '';
        expect(fallback).toMatch(/^[\x20-\x7e]+$/);
        expect(fallback).not.toContain('%');
      }),
      { numRuns: 500 },
    );
  });
});
