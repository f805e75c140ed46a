import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no browser download here). playwright-core adds
 * --headless and a fresh temporary --user-data-dir per launch; the networking flags stop Chromium's
 * background connections, which this machine's closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A fresh browser context (its own sessionStorage) signed in to the console with an API key; the
 * page's uncaught script errors are pushed to `pageErrors` (each suite expects none).
 */
export async function signInWithApiKey(
  browser: Browser,
  apiUrl: string,
  apiKey: string,
  pageErrors: string[],
  options: { viewport?: { width: number; height: number }; acceptDownloads?: boolean; timeoutMs?: number; beforeSignIn?: (page: Page) => Promise<void> } = {},
): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: options.acceptDownloads ?? false, viewport: options.viewport ?? { width: 1200, height: 900 } })).newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  if (options.timeoutMs) page.setDefaultTimeout(options.timeoutMs);
  await options.beforeSignIn?.(page);
  await page.goto(`${apiUrl}/console/#/signin`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in with API key' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return page;
}

/** Form controls without a label (a <label for>, or aria-label): there should be none. */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.locator('input, select').evaluateAll((els) =>
    els.filter((el) => !el.getAttribute('aria-label') && !(el.id && el.ownerDocument.querySelector(`label[for="${el.id}"]`))).map((el) => el.outerHTML.slice(0, 120)));
}
