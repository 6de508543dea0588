// The dashboard (GET /) in a real browser — Debian's chromium through
// playwright-core — against a real daemon with simulated SSH hosts: counts
// that match GET /hosts, live changes without reload, filters in the URL,
// sort, actions from the page reaching the daemon, host-key accept, a rollout
// whose progress equals GET /jobs/{id}, host data shown as text, the token
// prompt, and a daemon restart under the open page.
import t from 'tap';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { hostToml } from '../harness/simulator/toml.js';
import { hashToken } from '../src/http/auth.js';
import { until } from '../harness/daemon.js';
import { allHosts, auditLines, startSimSetup, waitForJob } from './helpers/sim-daemon.js';
import { launchChromium, skipWithoutChromium } from '../harness/browser.js';

const skip = skipWithoutChromium();
let browser: (Browser & { cleanup(): Promise<void> }) | null = null;
const getBrowser = async () => (browser ??= await launchChromium());
t.teardown(() => browser?.cleanup());

const MARKUP_TAG = '<img src=x onerror="window.__pwned=1">';
const SCRIPT_TAG = '<script>window.__pwned=2</script>';

async function openPage(url: string, before?: (page: Page) => void): Promise<Page> {
  const page = await (await getBrowser()).newPage({ viewport: { width: 1400, height: 900 } });
  before?.(page);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(url);
  return page;
}

const text = (page: Page, testid: string) => page.locator(`[data-testid="${testid}"]`).first().textContent();
const countOf = async (page: Page, testid: string) => Number(await text(page, testid));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

t.test('assets: gzip, ETag and 304, a CSP without inline script, and in the OpenAPI document', async (t) => {
  const setup = await startSimSetup({ hosts: 1 });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await fetch(`${d.url}/`, { headers: { 'accept-encoding': 'identity' } });
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  t.match(csp, /script-src 'self'/);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script, no eval');
  t.notOk(page.headers.get('content-encoding'), 'no gzip when not accepted');
  const html = await page.text();
  t.match(html, /<script type="module" src="\/ui\/app.js"><\/script>/);
  t.notMatch(html, /<script>/, 'no inline script in the page');

  const js = await fetch(`${d.url}/ui/app.js`, { headers: { 'accept-encoding': 'gzip, deflate' } });
  t.equal(js.headers.get('content-encoding'), 'gzip');
  const etag = js.headers.get('etag') as string;
  t.match(etag, /^".+"$/);
  const again = await fetch(`${d.url}/ui/app.js`, { headers: { 'if-none-match': etag } });
  t.equal(again.status, 304, '304 for a matching If-None-Match');
  t.equal(await again.text(), '', 'with no body');

  // The raw bytes: gzip length (the budget) and that they decode to the script.
  const raw = await new Promise<Buffer>((resolve, reject) => {
    import('node:http').then(({ get }) =>
      get(`${d.url}/ui/app.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject),
    );
  });
  t.match(gunzipSync(raw).toString('utf8'), /tendhost/);
  const sizes = await Promise.all(['/', '/ui/app.js', '/ui/app.css'].map(async (p) => {
    const r = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ get }) => get(`${d.url}${p}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
      }).on('error', reject));
    });
    return r;
  }));
  const total = sizes.reduce((a, b) => a + b, 0);
  t.ok(total <= 25 * 1024, `page + assets ${total} bytes gzipped (≤ 25 kB)`);

  const spec = (await d.get('/openapi.json')).body;
  for (const p of ['/', '/ui/app.js', '/ui/app.css']) t.ok(spec.paths[p]?.get, `${p} is in the OpenAPI document`);
});

t.test('HEAD of the page and its assets answers like GET, without a body, on a kept-alive connection', async (t) => {
  const setup = await startSimSetup({ hosts: 1 });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const { Agent, request } = await import('node:http');
  // One socket for every request: a body sent after a HEAD answer would be read as the next answer.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<unknown>();
  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const req = request(`${d.url}${path}`, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('socket', (s) => sockets.add(s));
      req.on('error', reject);
      req.end();
    });
  for (const path of ['/', '/ui/app.js', '/ui/app.css']) {
    for (const enc of ['identity', 'gzip']) {
      const get = await call('GET', path, { 'accept-encoding': enc });
      const head = await call('HEAD', path, { 'accept-encoding': enc });
      t.equal(head.status, 200, `HEAD ${path} (${enc}): 200`);
      t.equal(head.body.length, 0, 'no body');
      t.equal(head.headers['content-length'], String(get.body.length), `Content-Length ${get.body.length}, as GET sends`);
      for (const h of ['content-type', 'etag', 'content-encoding', 'content-security-policy', 'cache-control', 'vary'])
        t.equal(head.headers[h], get.headers[h], `${h} as GET`);
    }
    const etag = (await call('HEAD', path)).headers.etag as string;
    const cached = await call('HEAD', path, { 'if-none-match': etag });
    t.equal(cached.status, 304, `HEAD ${path} with a matching If-None-Match: 304`);
  }
  // The same connection still answers a GET properly after all those HEADs.
  const after = await call('GET', '/livez');
  t.equal(after.status, 200);
  t.equal(JSON.parse(after.body.toString()).status, 'ok', 'the connection is still in step');
  t.equal(sockets.size, 1, 'all on one kept-alive connection');
  const missing = await call('HEAD', '/ui/nothing.js');
  t.equal(missing.status, 404, 'an unknown asset: 404');
  t.equal(missing.body.length, 0, 'also without a body');
});

t.test('the live page: counts, live changes, filters in the URL, sort, a dry run from the page, markup as text', { skip }, async (t) => {
  const HOSTS = 30;
  const setup = await startSimSetup(
    { hosts: HOSTS, mix: { debian: 100 }, rebootRequiredPct: 0 },
    {
      // sim-00002 carries markup in its tags: the page must show it as text.
      hostToml: (h, key) => (h.name === 'sim-00002' ? hostToml(h, key).replace(/^tags = .*$/m, `tags = ${JSON.stringify(['debian', MARKUP_TAG, SCRIPT_TAG])}`) : hostToml(h, key)),
    },
  );
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());

  await until(async () => (await countOf(page, 'count-total')) === HOSTS, 20_000);
  t.pass(`the page shows ${HOSTS} hosts`);
  // Once the fleet has settled, every state count equals GET /hosts.
  await until(async () => {
    const hosts = await allHosts(d);
    const byState = new Map<string, number>();
    for (const h of hosts.values()) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
    for (const s of ['idle', 'querying', 'pending_updates', 'failed']) if ((await countOf(page, `count-${s}`)) !== (byState.get(s) ?? 0)) return false;
    return true;
  }, 20_000);
  t.pass('state counts equal GET /hosts');

  await t.test('host data is text: markup in tags runs nothing', async (t) => {
    await page.goto(`${d.url}/?host=sim-00002`);
    await page.locator('[data-testid="detail-tags"]').waitFor();
    t.match(await text(page, 'detail-tags'), MARKUP_TAG, 'the markup is shown verbatim');
    t.equal(await page.locator('[data-testid="detail"] img, [data-testid="detail"] script').count(), 0, 'no element made from it');
    t.equal(await page.locator('.body img').count(), 0, 'none in the table either');
    t.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned ?? null), null, 'nothing ran');
  });

  await t.test('filters live in the URL and match GET /hosts', async (t) => {
    await page.goto(`${d.url}/?tag=debian&search=sim-0001`);
    await until(async () => (await text(page, 'shown')) !== null);
    const rest = (await d.get('/hosts?tag=debian&search=sim-0001&per_page=200')).body;
    await until(async () => (await text(page, 'shown')) === `${rest.pagination.total_items} shown`, 10_000);
    t.pass(`${rest.pagination.total_items} shown, as GET /hosts?tag=debian&search=sim-0001`);
    await page.getByLabel('Name starts with').fill('sim-0002');
    await until(() => new URL(page.url()).searchParams.get('search') === 'sim-0002', 5_000);
    t.pass('typing a filter writes it to the URL');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await until(async () => (await text(page, 'shown')) === `${HOSTS} shown`, 5_000);
    t.equal(new URL(page.url()).search, '', 'cleared from the URL too');
  });

  await t.test('sort by a column, both directions', async (t) => {
    const first = () => page.locator('.body .row').first().getAttribute('data-host');
    t.equal(await first(), 'sim-00001', 'by name, ascending');
    await page.getByRole('button', { name: /^Host/ }).click();
    await until(async () => (await first()) === `sim-000${HOSTS}`, 5_000);
    t.equal(new URL(page.url()).searchParams.get('dir'), 'desc', 'descending, in the URL');
    await page.getByRole('button', { name: /^Host/ }).click();
    await until(async () => (await first()) === 'sim-00001', 5_000);
    t.pass('ascending again');
  });

  await t.test('a dry run started from the page moves the row through its states to idle, live', async (t) => {
    const name = 'sim-00005';
    await until(async () => (await d.get(`/hosts/${name}`)).body.state === 'idle' || (await d.get(`/hosts/${name}`)).body.state === 'pending_updates', 20_000);
    await page.goto(`${d.url}/?host=${name}`);
    await page.locator('[data-testid="detail-state"]').waitFor();
    // Record every state the row shows, from inside the page (no polling by the test).
    await page.evaluate((n) => {
      const seen: string[] = ((window as unknown as { __seen: string[] }).__seen = []);
      const record = () => {
        const s = document.querySelector(`.body .row[data-host="${n}"] .pill`)?.textContent;
        if (s && seen[seen.length - 1] !== s) seen.push(s);
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    }, name);
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    await page.getByRole('button', { name: 'Dry run', exact: true }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Dry run' }).click();
    const jobs = await until(async () => {
      const r = (await d.get(`/jobs?host=${name}`)).body;
      return r.data.find((j: { kind: string; dry_run: boolean }) => j.kind === 'update' && j.dry_run) ?? null;
    }, 10_000);
    t.ok(jobs, 'the daemon got the dry run');
    await waitForJob(d, jobs.id, (j) => j.finished_at !== null);
    await until(async () => {
      const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
      return seen.length > 1 && seen[seen.length - 1] === 'idle' ? seen : null;
    }, 10_000);
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    t.ok(seen.some((s) => s !== 'idle' && s !== 'pending updates'), `the row went through a busy state (${seen.join(' → ')})`);
    t.equal(seen[seen.length - 1], 'idle', 'and ended idle');
    t.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loads, 'without a reload');
    await until(async () => (await page.locator('[data-testid="packages"] li').count()) > 0, 5_000);
    t.pass('the dry run’s package list is shown');
    // The audit line is written after the answer: wait for it.
    const audit = await until(() => auditLines(setup.auditFile).find((l) => l.action === 'host.update' && l.host === name) ?? null, 10_000).catch(() => null);
    t.ok(audit, `the action is audited like any API call (${JSON.stringify(auditLines(setup.auditFile).map((l) => l.action))})`);
  });

  t.same((page as Page & { problems?: string[] }).problems, [], 'no script errors on the page');
});

t.test('a rollout from the form, with a failing and an unreachable host, ends with GET /jobs/{id}’s counts, per batch too', { skip }, async (t) => {
  const setup = await startSimSetup({ hosts: 8, mix: { debian: 100 }, rebootRequiredPct: 0, faults: ['upgrade-fail=sim-00003', 'refused=sim-00006'] });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());
  await until(async () => (await countOf(page, 'count-total')) === 8, 20_000);
  await page.getByRole('button', { name: 'Rollout…' }).click();
  // A canary of one, then batches of 3 half a second apart: batches 1 (canary), 2 and 3.
  await page.getByLabel('Batch size').fill('3');
  await page.getByLabel('Canary hosts').fill('1');
  await page.getByLabel('Delay between batches (ms)').fill('500');
  await page.getByLabel('Tags (all, comma-separated)').fill('sim');
  t.equal(await text(page, 'rollout-preview'), '8 hosts selected', 'the preview counts the selected hosts');
  await page.getByLabel('Exclude hosts').fill('sim-00008');
  t.equal(await text(page, 'rollout-preview'), '7 hosts selected', 'exclusions are counted');
  await page.getByLabel('Groups (any)').fill('no-such-group');
  t.equal(await text(page, 'rollout-preview'), '0 hosts selected', 'groups are counted');
  t.ok(await page.getByRole('button', { name: 'Start rollout…' }).isDisabled(), 'nothing to start on 0 hosts');
  await page.getByLabel('Groups (any)').fill('');
  await page.getByLabel('Stop after failures (n or %)').fill('half');
  await page.getByRole('alert').getByText('Stop thresholds are a count').waitFor();
  t.ok(await page.getByRole('button', { name: 'Start rollout…' }).isDisabled(), 'a threshold that is neither a count nor a percentage is refused in the form');
  // Every option of POST /fleet/update, as sent.
  await page.getByLabel('Stop after failures (n or %)').fill('50%');
  await page.getByLabel('Stop after unreachable (n or %)').fill('3');
  await page.getByLabel('Wait for maintenance windows').check();
  const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/fleet/update'));
  await page.getByRole('button', { name: 'Start rollout…' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Start rollout' }).click();
  t.same(
    (await posted).postDataJSON(),
    { batch_size: 3, delay_ms: 500, canary: 1, dry_run: false, wait_for_window: true, filter: { tags: ['sim'], exclude_hosts: ['sim-00008'] }, max_failures: '50%', max_unreachable: 3 },
    'the form sends every option it shows',
  );
  await page.locator('[data-testid="job-view"]').waitFor();
  const id = new URL(page.url()).searchParams.get('job') as string;
  t.ok(id, 'the job opens, its id in the URL');
  // Every batch × outcome grid the page draws while the rollout runs, recorded in the page.
  await page.evaluate(() => {
    const seen: string[] = ((window as unknown as { __grids: string[] }).__grids = []);
    const record = () => {
      const rows = [...document.querySelectorAll('[data-testid="batch-grid"] tbody tr')].map((r) => [...r.children].map((c) => c.textContent).join(' '));
      const g = rows.join(' | ');
      if (g && seen[seen.length - 1] !== g) seen.push(g);
    };
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const job = await waitForJob(d, id, (j) => j.finished_at !== null, 60_000);
  const s = (await d.get(`/jobs/${id}`)).body.summary;
  t.equal(s.total, 7);
  t.ok(s.failed >= 1 && s.unreachable >= 1, `one failed, one unreachable (${JSON.stringify(s)})`);
  const want = `${s.completed} completed · ${s.failed} failed · ${s.unreachable} unreachable · ${s.skipped} skipped / ${s.total}`;
  await until(async () => (await page.locator('[data-testid="job-view"] [data-testid="progress-text"]').textContent()) === want, 10_000);
  t.pass(`the job view shows ${want}`);

  // The rollout view: the daemon's per-batch counts (they add up to the summary), drawn as they moved.
  const rest = (await d.get(`/jobs/${id}`)).body;
  const rows = rest.batches as Array<Record<string, number>>;
  t.same(rows.map((b) => [b.batch, b.total]), [[1, 1], [2, 3], [3, 3]], 'GET /jobs/{id}: batches of 1 (canary), 3 and 3');
  for (const k of ['total', 'completed', 'failed', 'unreachable', 'skipped', 'pending', 'running'])
    t.equal(rows.reduce((n, b) => n + b[k], 0), s[k], `the batches' ${k} add up to the summary`);
  t.same([rows[1].failed, rows[2].unreachable], [1, 1], 'the failing host in batch 2, the unreachable one in batch 3');
  const line = (b: Record<string, number>) => [b.batch, b.completed, b.failed, b.unreachable, b.skipped, b.running, b.pending, b.total].join(' ');
  const wantGrid = [...rows].reverse().map(line).join(' | ');
  const lastGrid = () => page.evaluate(() => (window as unknown as { __grids: string[] }).__grids.at(-1));
  await until(async () => (await lastGrid()) === wantGrid, 10_000).catch(async () => t.equal(await lastGrid(), wantGrid));
  t.pass(`the grid shows them, newest batch first (${wantGrid})`);
  const grids = await page.evaluate(() => (window as unknown as { __grids: string[] }).__grids);
  t.ok(grids.length >= 3 && grids.some((g) => g.split(' | ').length < 3), `it was drawn while the rollout ran, batch by batch (${grids.length} versions)`);
  // A cell lists its hosts: GET /jobs/{id}/hosts?state=failed&batch=2.
  const reads: string[] = [];
  page.on('request', (r) => reads.push(r.url()));
  await page.getByRole('button', { name: 'batch 2, 1 failed' }).click();
  await until(async () => (await page.locator('.results:not(.batches) tbody tr').count()) === 1, 10_000);
  t.equal(await page.locator('.results:not(.batches) tbody tr td').first().textContent(), 'sim-00003', 'the failed cell of batch 2 lists sim-00003');
  t.ok(reads.some((u) => /\/jobs\/[^/]+\/hosts\?.*state=failed/.test(u) && /batch=2/.test(u)), 'read page by page from GET /jobs/{id}/hosts?state=failed&batch=2');
  const api = (await d.get(`/jobs/${id}/hosts?batch=3&state=unreachable`)).body;
  t.same(api.data.map((h: { host: string; batch: number }) => [h.host, h.batch]), [['sim-00006', 3]], 'the API answers the same filter for batch 3');

  // The last-hour chart counted the updates and the failures from the stream.
  const failedNow = [...(await allHosts(d)).values()].filter((h) => h.state === 'failed').length;
  await until(async () => (await page.locator('figure.chart figcaption').textContent()) === `last hour: ${s.completed} updated · ${failedNow} failed`, 10_000).catch(async () =>
    t.equal(await page.locator('figure.chart figcaption').textContent(), `last hour: ${s.completed} updated · ${failedNow} failed`),
  );
  t.pass(`the last-hour chart: ${s.completed} updated, ${failedNow} failed`);
  t.equal(await page.locator('figure.chart rect').count() > 0, true, 'drawn as bars');

  await page.getByRole('button', { name: 'Jobs', exact: true }).click();
  await until(async () => (await page.locator('[data-testid="jobs"] [data-testid="progress-text"]').first().textContent()) === want, 10_000);
  t.pass('so does the live jobs list (from the stream)');
  t.equal(await text(page, 'job-state'), job.state);

  // The failed host's failure is acknowledged from its detail; the count of unacknowledged failures drops.
  const unacked = await countOf(page, 'count-unacked');
  await page.goto(`${d.url}/?host=sim-00003`);
  await page.locator('[data-testid="detail-error"]').waitFor();
  await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Acknowledge' }).click();
  await until(async () => (await d.get('/hosts/sim-00003')).body.failed?.acknowledged === true, 10_000);
  await page.getByRole('heading', { name: 'Failed (acknowledged)' }).waitFor({ timeout: 10_000 });
  t.equal(await countOf(page, 'count-unacked'), unacked - 1, 'acknowledged from the page: one unacknowledged failure fewer');
});

t.test('a changed host key is accepted from the page', { skip }, async (t) => {
  const setup = await startSimSetup({ hosts: 3, mix: { debian: 100 }, faults: ['changed-key=sim-00002'], changedKeyAfter: 1 });
  t.teardown(() => setup.stop());
  const dryRun = async (d: Awaited<ReturnType<typeof setup.start>>) => {
    const r = await d.request('POST', '/hosts/sim-00002/update', { dry_run: true });
    await waitForJob(d, r.body.job_id, (j) => j.finished_at !== null);
  };
  // The first connection learns the key; after a restart (no open session) the host shows the other one.
  const first = await setup.start();
  await dryRun(first);
  await first.stop();
  const d = await setup.start();
  await dryRun(d);
  t.equal((await d.get('/hosts/sim-00002')).body.failed?.code, 'SSH_HOST_KEY_MISMATCH');
  const page = await openPage(`${d.url}/?host=sim-00002`);
  t.teardown(() => page.close());
  await page.getByRole('button', { name: 'Accept new host key' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Accept host key' }).click();
  const audit = await until(() => auditLines(setup.auditFile).find((l) => l.action === 'host.key_accept' && l.host === 'sim-00002') ?? null, 10_000);
  t.equal(audit.result, 'ok', 'the daemon accepted the key (audited)');
  await until(async () => (await page.getByRole('button', { name: 'Accept new host key' }).count()) === 0, 10_000);
  t.pass('the accept button is gone');
  // Accepting lifts the quarantine; a retry from the page reconnects with the new key.
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Retry' }).click();
  await until(async () => (await d.get('/hosts/sim-00002')).body.failed === null, 20_000);
  t.pass('after a retry the host is no longer failed');
  await until(async () => (await text(page, 'detail-state')) !== 'failed', 10_000);
  t.pass('and the page shows it without a reload');
});

t.test('with auth on: the token prompt, a wrong token refused, the right one works for REST and the stream', { skip }, async (t) => {
  const TOKEN = 'dashboard-test-token';
  const setup = await startSimSetup({ hosts: 4, mix: { debian: 100 } }, { daemon: `auth = { enabled = true, tokens = [{ name = "ops", token_hash = "${hashToken(TOKEN)}" }] }` });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());
  await page.getByLabel('API token').fill('wrong');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText('The daemon refused that token.').waitFor();
  t.pass('a wrong token is refused');
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Connect' }).click();
  await until(async () => (await page.locator('[data-testid="count-total"]').count()) > 0 && (await countOf(page, 'count-total')) === 4, 20_000);
  t.pass('the right token loads the fleet over the stream');
  await until(async () => (await text(page, 'stream-state'))?.includes('live'), 10_000);
  t.pass('the stream is live');
  await page.goto(`${d.url}/?host=sim-00001`);
  await page.locator('[data-testid="detail"]').waitFor();
  await page.getByRole('button', { name: 'Load inventory' }).click();
  await page.getByText(/collected .* via/).waitFor({ timeout: 20_000 });
  t.pass('REST calls carry the token (inventory loaded after a reload: the token is kept for the tab)');
  const refresh = page.waitForResponse((r) => r.url().includes('/hosts/sim-00001/inventory') && r.url().includes('refresh=true'), { timeout: 20_000 });
  await page.getByRole('button', { name: 'Refresh from the host' }).click();
  const fresh = await refresh;
  t.equal(fresh.status(), 200, 'the inventory is refreshed from the host (GET …/inventory?refresh=true)');
  const { collected_at: at, source } = await fresh.json();
  await page.getByText(`collected ${await page.evaluate((x) => new Date(x).toLocaleString(), at)} via ${source}`).waitFor({ timeout: 10_000 });
  t.pass('and the page shows the fresh copy');
});

t.test('the daemon restarts under the open page: reconnecting, then the right states without a reload', { skip }, async (t) => {
  const setup = await startSimSetup({ hosts: 10, mix: { debian: 100 }, rebootRequiredPct: 0 });
  t.teardown(() => setup.stop());
  const port = await freePort();
  const env = { TENDHOST_BIND: `127.0.0.1:${port}` };
  let d = await setup.start({ env });
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());
  await until(async () => (await text(page, 'stream-state'))?.includes('live'), 20_000);
  await until(async () => (await countOf(page, 'count-total')) === 10, 20_000);
  await d.stop('SIGTERM');
  await page.locator('[data-testid="banner"]').getByText(/reconnecting/).waitFor({ timeout: 20_000 });
  t.pass('the page says reconnecting');
  d = await setup.start({ env });
  // A change made after the restart must reach the page.
  const r = await d.request('POST', '/hosts/sim-00004/update', { dry_run: true });
  await waitForJob(d, r.body.job_id, (j) => j.finished_at !== null);
  await until(async () => (await text(page, 'stream-state'))?.includes('live'), 30_000);
  await until(async () => {
    const hosts = await allHosts(d);
    for (const [name, h] of hosts) {
      const shown = await page.locator(`.body .row[data-host="${name}"] .pill`).textContent();
      if (shown?.replace(' ', '_') !== h.state) return false;
    }
    return true;
  }, 20_000);
  t.pass('every row shows the daemon’s state');
  t.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1, 'no reload');
});

t.test('the virtualised table: 1,000 hosts in under 2,000 DOM nodes, scrolled to the last row', { skip }, async (t) => {
  // The table is fed by the stream alone, so 1,000 real simulated hosts show the virtualisation;
  // the 10,000-host case is bench/dashboard.ts.
  const HOSTS = 1000;
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());
  await until(async () => (await countOf(page, 'count-total')) === HOSTS, 30_000);
  const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
  t.ok(nodes <= 2000, `${nodes} DOM nodes for ${HOSTS} hosts`);
  await page.locator('[data-testid="table-body"]').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.locator(`.body .row[data-host="sim-0${HOSTS}"]`).waitFor({ timeout: 5_000 });
  t.pass('the last host is drawn after scrolling to the bottom');
  t.ok((await page.evaluate(() => document.getElementsByTagName('*').length)) <= 2000, 'still bounded');
});

t.test('a stream that cannot be replayed is rebuilt from a Resync and a fresh snapshot, without a reload', { skip }, async (t) => {
  // A replay buffer of 5 events: a page away for longer than that must resync.
  const HOSTS = 10;
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 } }, { daemon: 'ws = { replay_buffer = 5 }' });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await (await getBrowser()).newPage();
  t.teardown(() => page.close());
  // The page's WebSocket goes through a route the test can cut (and hold cut).
  let cut = false;
  const open = new Set<{ close(): Promise<void> }>();
  const urls: string[] = [];
  await page.routeWebSocket(/\/ws\/events/, (ws) => {
    urls.push(ws.url());
    if (cut) return void ws.close({ code: 1011, reason: 'cut by the test' });
    ws.connectToServer();
    open.add(ws);
  });
  await page.goto(`${d.url}/`);
  await until(async () => (await countOf(page, 'count-total')) === HOSTS, 20_000);
  await page.evaluate(() => {
    const seen: string[] = ((window as unknown as { __badge: string[] }).__badge = []);
    const record = () => {
      const s = document.querySelector('[data-testid="stream-state"] .badge-label')?.textContent;
      if (s && seen[seen.length - 1] !== s) seen.push(s);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  cut = true;
  for (const ws of open) await ws.close();
  open.clear();
  await page.locator('[data-testid="banner"]').getByText(/reconnecting/).waitFor({ timeout: 10_000 });
  // Far more events than the replay buffer holds, while the page is away.
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: HOSTS });
  await waitForJob(d, r.body.job_id, (j) => j.finished_at !== null);
  cut = false;
  await until(async () => (await text(page, 'stream-state'))?.includes('live'), 30_000);
  t.match(urls[urls.length - 1], /since=\d+/, 'it asked to resume from its seq');
  const badge = await page.evaluate(() => (window as unknown as { __badge: string[] }).__badge);
  t.ok(badge.includes('resyncing'), `the badge said resyncing (${badge.join(' → ')})`);
  await until(async () => {
    const hosts = await allHosts(d);
    for (const [name, h] of hosts) {
      const shown = await page.locator(`.body .row[data-host="${name}"] .pill`).textContent();
      if (shown?.replace(' ', '_') !== h.state) return false;
    }
    return true;
  }, 20_000);
  t.pass('every row shows the daemon’s state after the resync');
  t.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1, 'no reload');
});

t.test('a hidden tab fetches nothing and draws nothing; the stream stays open, and on return the page catches up', { skip }, async (t) => {
  const HOSTS = 10;
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 }, rebootRequiredPct: 0 });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  // A rollout in batches of 2, 400 ms apart, watched from its job view with a host detail open:
  // both panels read REST when the stream says something moved.
  const start = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 2, delay_ms: 400 });
  const id = start.body.job_id as string;
  const frames: number[] = [];
  const page = await openPage(`${d.url}/?job=${id}&host=sim-00009`, (p) => p.on('websocket', (ws) => ws.on('framereceived', () => frames.push(Date.now()))));
  t.teardown(() => page.close());
  await page.locator('[data-testid="batch-grid"]').waitFor({ timeout: 20_000 });
  await until(async () => (await text(page, 'stream-state'))?.includes('live'), 10_000);
  const rest: string[] = [];
  page.on('request', (r) => {
    if (!r.url().includes('/ws/events')) rest.push(`${Date.now()} ${r.method()} ${new URL(r.url()).pathname}`);
  });
  // Headless chromium keeps every page "visible" (minimised or behind another tab alike):
  // hide it the way a browser tells a page, visibilityState and the visibilitychange event.
  const setHidden = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  // The page must still be mid-rollout when hidden, for the test to mean anything.
  t.equal((await d.get(`/jobs/${id}`)).body.finished_at, null, 'the rollout is still running when the tab is hidden');
  await setHidden(true);
  const hiddenAt = Date.now();
  await page.evaluate(() => {
    const w = window as unknown as { __mutations: number };
    w.__mutations = 0;
    new MutationObserver((l) => (w.__mutations += l.length)).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  // While hidden: the rollout ends, and one more host changes (its own job, for the host detail).
  await waitForJob(d, id, (j) => j.finished_at !== null, 60_000);
  const other = await d.request('POST', '/hosts/sim-00009/update', { dry_run: true });
  await waitForJob(d, other.body.job_id, (j) => j.finished_at !== null);
  await new Promise((r) => setTimeout(r, 1500));
  const shownAt = Date.now();
  const whileHidden = rest.filter((l) => Number(l.split(' ')[0]) >= hiddenAt);
  t.same(whileHidden, [], 'no REST request while hidden');
  t.ok(frames.filter((f) => f >= hiddenAt).length > 10, `the stream stayed open: ${frames.filter((f) => f >= hiddenAt).length} messages received while hidden`);
  t.equal(await page.evaluate(() => (window as unknown as { __mutations: number }).__mutations), 0, 'nothing drawn while hidden');

  await setHidden(false);
  const s = (await d.get(`/jobs/${id}`)).body.summary;
  const want = `${s.completed} completed · ${s.failed} failed · ${s.unreachable} unreachable · ${s.skipped} skipped / ${s.total}`;
  await until(async () => (await page.locator('[data-testid="job-view"] [data-testid="progress-text"]').textContent()) === want, 10_000);
  t.pass(`on return the job view shows the finished rollout (${want})`);
  t.equal(await text(page, 'job-state'), (await d.get(`/jobs/${id}`)).body.state, 'and its final state');
  const after = rest.filter((l) => Number(l.split(' ')[0]) >= shownAt).map((l) => l.split(' ').slice(1).join(' '));
  t.ok(after.includes(`GET /jobs/${id}`), `it read the job once shown (${after.join(', ')})`);
  t.ok(after.some((l) => l === 'GET /jobs'), 'and the host’s recent jobs');
  const hosts = await allHosts(d);
  for (const st of ['idle', 'pending_updates', 'failed']) {
    const n = [...hosts.values()].filter((h) => h.state === st).length;
    await until(async () => (await countOf(page, `count-${st}`)) === n, 10_000);
  }
  t.pass('the state counts equal GET /hosts without a reload');
  t.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1, 'no reload');
  t.same((page as Page & { problems?: string[] }).problems, [], 'no script errors on the page');
});

t.test('keyboard and labels: rows, the detail, the confirmation; a rollout cancelled from the page; light and dark themes', { skip }, async (t) => {
  const HOSTS = 6;
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 }, rebootRequiredPct: 0 });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const page = await openPage(`${d.url}/`);
  t.teardown(() => page.close());
  await until(async () => (await countOf(page, 'count-total')) === HOSTS, 20_000);
  await until(async () => ['idle', 'pending_updates'].includes((await d.get('/hosts/sim-00002')).body.state), 20_000);

  // Every control has a name a screen reader can say.
  const unnamed = await page.locator('button, input, select, a').evaluateAll((els) =>
    els
      .filter((el) => {
        const aria = el.getAttribute('aria-label')?.trim();
        const labels = (el as HTMLInputElement).labels;
        return !aria && !(labels && labels.length > 0 && labels[0].textContent?.trim()) && !el.textContent?.trim();
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  t.same(unnamed, [], 'every button, input, select and link is labelled');

  await page.locator('.body .row').first().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await until(() => new URL(page.url()).searchParams.get('host') === 'sim-00002', 5_000);
  t.pass('a row gets the focus; ArrowDown then Enter opens the next host');
  await page.getByRole('button', { name: 'Dry run', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog[open]').waitFor();
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Dry run', 'the confirmation opens with the focus on its action');
  await page.keyboard.press('Escape');
  await until(async () => (await page.locator('dialog[open]').count()) === 0, 5_000);
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await d.get('/jobs?host=sim-00002')).body.data.filter((j: { kind: string }) => j.kind === 'update').length, 0, 'Escape closes it and sends nothing');
  await page.getByRole('button', { name: 'Dry run', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog[open]').waitFor();
  await page.keyboard.press('Enter');
  await until(async () => (await d.get('/jobs?host=sim-00002')).body.data.some((j: { kind: string; dry_run: boolean }) => j.kind === 'update' && j.dry_run), 10_000);
  t.pass('Enter confirms: the dry run reaches the daemon');

  // Cancel from the page: a rollout of one host per batch, a minute between batches.
  const r = await d.request('POST', '/fleet/update', { dry_run: true, batch_size: 1, delay_ms: 60_000, filter: { exclude_hosts: ['sim-00002'] } });
  await page.goto(`${d.url}/?job=${r.body.job_id}`);
  await page.locator('[data-testid="job-view"]').getByRole('button', { name: 'Cancel', exact: true }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Cancel job' }).click();
  const job = await waitForJob(d, r.body.job_id, (j) => j.finished_at !== null, 30_000);
  t.equal(job.state, 'cancelled', 'the daemon cancelled the rollout');
  await until(async () => (await text(page, 'job-state')) === 'cancelled', 10_000);
  t.pass('and the page shows it cancelled');
  t.ok(job.summary.skipped >= HOSTS - 2, `the hosts not started were skipped (${JSON.stringify(job.summary)})`);

  // Both themes: the page follows the system setting.
  const colours = () => page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await colours();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await colours();
  t.not(light[0], dark[0], `a light and a dark background (${light[0]} / ${dark[0]})`);
  t.not(light[1], dark[1], 'and text colours to match');
});
