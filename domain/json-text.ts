/**
 * Text that parses as JSON but cannot be stored: `\u0000` (Postgres text and jsonb refuse NUL) and
 * an unpaired UTF-16 surrogate such as `\ud800` (no character at all; jsonb refuses it, and text
 * would silently store U+FFFD). Both bodies parsers refuse a request holding either, so it is a 400
 * naming the place rather than a database error (500) after part of the request was handled.
 */
export interface UnstorableText {
  /** Where: `data.attributes.name`, `devices[3]`, or the key itself (`profile.<key>`). */
  path: string;
  what: 'U+0000' | 'an unpaired UTF-16 surrogate';
}

const NUL = '\u0000';
const LONE_SURROGATE = /\p{Surrogate}/u;

function problemOf(text: string): UnstorableText['what'] | undefined {
  if (text.includes(NUL)) return 'U+0000';
  if (LONE_SURROGATE.test(text)) return 'an unpaired UTF-16 surrogate';
  return undefined;
}

/**
 * The first string (object key or value) in a parsed JSON value that cannot be stored, if any.
 * Iterative, so a deeply nested body cannot overflow the stack.
 */
export function findUnstorableText(value: unknown): UnstorableText | undefined {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: v, path } = next;
    if (typeof v === 'string') {
      const what = problemOf(v);
      if (what) return { path: path || '(the body)', what };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) pending.push({ value: v[i], path: `${path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [key] of entries) {
        const what = problemOf(key);
        // The key itself cannot be stored: name the object it sits in, not the key.
        if (what) return { path: `a key of ${path || '(the body)'}`, what };
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        pending.push({ value: child, path: path ? `${path}.${key}` : key });
      }
    }
  }
  return undefined;
}

/** The refusal's wording, shared by the admin API and the MDM-facing service's logs. */
export function describeUnstorableText(found: UnstorableText): string {
  const points = [...found.path];
  const where = points.length > 120 ? `${points.slice(0, 120).join('')}…` : found.path;
  return `The JSON body holds ${found.what} in ${where}; JSON text must be Unicode characters (RFC 8259) other than U+0000.`;
}
