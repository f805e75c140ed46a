import { fileURLToPath } from 'node:url';

/** Where the web console's static files live (plain HTML, CSS and ES modules: nothing to build). */
export const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));
