// Debian's chromium driven by playwright-core, for the dashboard tests and
// benchmark. Missing chromium fails under CI=true (.ci/run installs it) and
// skips elsewhere, with the reason.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;

/** tap's `skip` option: false when chromium is here or CI demands it (then launching fails loudly). */
export function skipWithoutChromium(): false | string {
  if (CHROMIUM || process.env.CI === 'true') return false;
  return 'chromium is not installed (apt-get install -y chromium)';
}

export async function launchChromium(): Promise<Browser & { cleanup(): Promise<void> }> {
  if (!CHROMIUM) throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does this)');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
  });
  return Object.assign(browser, {
    async cleanup() {
      // playwright gives every launch a fresh temporary profile and removes it on close.
      await browser.close().catch(() => {});
    },
  });
}
