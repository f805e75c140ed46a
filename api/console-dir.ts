import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Where the web console's static files live (plain HTML, CSS and ES modules: nothing to build). */
export const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));

/**
 * Headers of every console file. The console holds an API key in sessionStorage: only its own
 * scripts and styles may load, nothing may frame it, and no URL leaks to another site. The token
 * download is a same-origin blob: URL, which needs no exception.
 */
export function setConsoleHeaders(res: ServerResponse): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}
