#!/usr/bin/env node
// Takes the README's dashboard screenshots (docs/dashboard.png, docs/dashboard-dark.png):
// 200 simulated hosts, a few unreachable, two rollouts running. Needs `make build` and chromium.
//   node tools/screenshot-dashboard.mjs
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startDaemon } = await import(join(root, 'dist/harness/daemon.js'));
const { launchChromium } = await import(join(root, 'dist/harness/browser.js'));
const { startSimulatorProc } = await import(join(root, 'dist/harness/simulator-proc.js'));

const dir = mkdtempSync(join(tmpdir(), 'tendhost-shot-'));
let d = null;
let browser = null;
const sim = await startSimulatorProc({ hosts: 200, dir, baseAddr: '127.91.0.1' });
try {
d = await startDaemon({
  workers: 2,
  logLevel: 'info',
  toml: `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${join(dir, 'known_hosts')}"\n\n${readFileSync(sim.toml, 'utf8')}\n[groups]\nweb = ["sim-00001", "sim-00002", "sim-00003"]\n`,
});
browser = await launchChromium();
  const post = (path, body) => d.request('POST', path, body);
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  await sim.json('/fault', { hosts: ['sim-00007', 'sim-00042', 'sim-00133'], fault: 'refused', on: true }).catch(() => {});
  console.log('fleet up; a first dry run');
  const first = await post('/fleet/update', { dry_run: true, batch_size: 100 });
  for (let i = 0; i < 120; i++) {
    if ((await d.get(`/jobs/${first.body.job_id}`)).body.finished_at) break;
    await wait(500);
  }
  // A real rollout (upgrades and reboots) on the Fedora hosts and a dry run on the Debian ones, both running.
  const job = await post('/fleet/update', { batch_size: 10, filter: { tags: ['fedora'] } });
  await post('/fleet/update', { dry_run: true, batch_size: 20, delay_ms: 400, filter: { tags: ['debian'] } });
  await wait(6000);
  mkdirSync(join(root, 'docs'), { recursive: true });
  for (const scheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 860 }, colorScheme: scheme });
    console.log(`page (${scheme})`);
    await page.goto(`${d.url}/?job=${job.body.job_id}`);
    await page.locator('[data-testid="job-view"]').waitFor();
    await wait(2500);
    await page.screenshot({ path: join(root, 'docs', scheme === 'light' ? 'dashboard.png' : 'dashboard-dark.png') });
    await page.close();
  }
  console.log('screenshots: docs/dashboard.png, docs/dashboard-dark.png');
} finally {
  await browser?.cleanup();
  await d?.stop();
  await sim.stop();
}
