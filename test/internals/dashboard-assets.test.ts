// The dashboard's asset serving on its own: conditional requests, content
// negotiation, the clear error when dist/ui was not built, and the view's
// derived rows (counts that add up, filters shared with GET /hosts).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsGzip, etagMatches, loadAssets } from '../../src/http/dashboard-assets.js';
import { dashboardRoutes } from '../../src/http/handlers/dashboard.js';
import { hostMatches, rolloutSelector } from '../../src/fleet/fleet-filter.js';
import type { RequestContext } from '../../src/http/route.js';
import type { View } from '../../src/ui/url-state.js';

const ctx = (headers: Record<string, string> = {}): RequestContext => ({ params: {}, query: {}, body: undefined, request_id: 'r', user: null, ip: '', headers });

t.test('If-None-Match: exact, list, weak and * match; others do not', async (t) => {
  t.ok(etagMatches('"abc"', '"abc"'));
  t.ok(etagMatches('"x", W/"abc"', '"abc"'));
  t.ok(etagMatches('*', '"abc"'));
  t.notOk(etagMatches('"abd"', '"abc"'));
  t.notOk(etagMatches(undefined, '"abc"'));
});

t.test('Accept-Encoding: gzip unless absent or q=0', async (t) => {
  t.ok(acceptsGzip('gzip, deflate, br'));
  t.ok(acceptsGzip('br;q=1.0, gzip;q=0.8'));
  t.ok(acceptsGzip('*'));
  t.notOk(acceptsGzip('gzip;q=0'));
  t.notOk(acceptsGzip('identity'));
  t.notOk(acceptsGzip(undefined));
});

t.test('unbuilt assets answer DASHBOARD_NOT_BUILT naming the missing file', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'tendhost-ui-'));
  const [page] = dashboardRoutes(() => loadAssets(empty));
  t.throws(() => page.handler(ctx()), { code: 'DASHBOARD_NOT_BUILT', message: /index\.html missing/ });
});

t.test('built assets: 200 with ETag and CSP, gzip when accepted, 304 on a match', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-ui-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)'.repeat(50));
  writeFileSync(join(dir, 'app.css'), 'body{}');
  const [page, js] = dashboardRoutes(() => loadAssets(dir));
  const first = page.handler(ctx()) as { status: number; headers: Record<string, string>; body: Buffer };
  t.equal(first.status, 200);
  t.match(first.headers['content-security-policy'], /script-src 'self'/);
  t.equal(String(first.body), '<!doctype html><title>t</title>');
  const gz = js.handler(ctx({ 'accept-encoding': 'gzip' })) as { headers: Record<string, string>; body: Buffer };
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.ok(gz.body.length < 50 * 14, 'compressed');
  const again = js.handler(ctx({ 'if-none-match': gz.headers.etag })) as { status: number; body?: unknown };
  t.equal(again.status, 304);
  t.equal(again.body, undefined, 'no body');
});

t.test('one host filter: name prefix, state, group, all tags; rollout selection: tags all, groups any, minus exclusions', async (t) => {
  const h = { name: 'web-01', state: 'idle' as const, tags: ['debian', 'prod'], groups: ['dc1'] };
  t.ok(hostMatches(h, {}));
  t.ok(hostMatches(h, { search: 'web', state: 'idle', group: 'dc1', tags: ['prod', 'debian'] }));
  t.notOk(hostMatches(h, { search: 'eb' }), 'search is a name prefix, as GET /hosts');
  t.notOk(hostMatches(h, { tags: ['prod', 'fedora'] }), 'every tag must match');
  t.notOk(hostMatches(h, { state: 'failed' }));
  t.ok(rolloutSelector({ groups: ['dc2', 'dc1'] })(h), 'any group');
  t.notOk(rolloutSelector({ tags: ['debian'], exclude_hosts: ['web-01'] })(h), 'excluded');
  t.ok(rolloutSelector({})(h), 'no filter selects all');
});

t.test('the view: counts add up to the hosts matching, the state filter narrows only the rows, sorts both ways', async (t) => {
  const { derive } = await import('../../src/ui/rows.js');
  const states = ['idle', 'failed', 'updating', 'idle', 'pending_updates'] as const;
  const hosts = states.map((state, i) => ({
    name: `h${i}`, addr: `127.0.0.${i + 1}`, state, tags: i % 2 ? ['odd'] : [], groups: [], pending_updates: i, last_updated: null,
    error: null, failed: state === 'failed' ? { previous_state: 'querying' as const, error: 'x', code: 'SSH_TIMEOUT', failed_at: '2026-01-01T00:00:00Z', retry_count: 0, acknowledged: false } : null,
    shard: 0, package_manager: 'apt' as const, compose: false, job_id: null,
  }));
  const view: View = { search: '', state: null, group: null, tags: [], sort: 'name', desc: false, host: null, job: null };
  const all = derive(hosts, view);
  t.equal(Object.values(all.counts).reduce((a, b) => a + b, 0), all.matching, 'counts add up');
  t.equal(all.matching, 5);
  t.equal(all.unacknowledged, 1);
  t.equal(all.pendingUpdates, 0 + 1 + 2 + 3 + 4);
  const idle = derive(hosts, { ...view, state: 'idle' });
  t.same(idle.rows.map((h) => h.name), ['h0', 'h3']);
  t.equal(idle.matching, 5, 'the bar still shows every state of the matching hosts');
  const odd = derive(hosts, { ...view, tags: ['odd'], sort: 'pending', desc: true });
  t.same(odd.rows.map((h) => h.name), ['h3', 'h1']);
  t.equal(odd.matching, 2);
});

t.test('the view kept up per changed host equals the view derived from scratch', async (t) => {
  const { Deriver, derive } = await import('../../src/ui/rows.js');
  const STATES = ['idle', 'querying', 'pending_updates', 'updating', 'waiting_reboot', 'failed'] as const;
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const make = (i: number) => {
    const state = STATES[rand(STATES.length)];
    return {
      name: `h${String(i).padStart(3, '0')}`, addr: `127.0.${rand(3)}.${i % 250}`, state, tags: rand(2) ? ['odd'] : ['even'], groups: rand(3) ? ['dc1'] : [],
      pending_updates: rand(4) ? rand(20) : null, last_updated: rand(2) ? `2026-01-0${1 + rand(9)}T00:00:00Z` : null, error: null,
      failed: state === 'failed' ? { previous_state: 'querying' as const, error: 'x', code: 'SSH_TIMEOUT', failed_at: '2026-01-01T00:00:00Z', retry_count: 0, acknowledged: rand(2) === 0 } : null,
      shard: 0, package_manager: 'apt' as const, compose: false, job_id: null,
    };
  };
  const views: View[] = [
    { search: '', state: null, group: null, tags: [], sort: 'name', desc: false, host: null, job: null },
    { search: 'h0', state: null, group: 'dc1', tags: ['odd'], sort: 'state', desc: true, host: null, job: null },
    { search: '', state: 'idle', group: null, tags: [], sort: 'pending', desc: false, host: null, job: null },
    { search: '', state: null, group: null, tags: [], sort: 'last_updated', desc: true, host: null, job: null },
  ];
  for (const view of views) {
    const hosts = new Map<string, ReturnType<typeof make>>();
    for (let i = 0; i < 300; i++) hosts.set(make(i).name, make(i));
    const d = new Deriver();
    d.update(hosts, view);
    for (let round = 0; round < 40; round++) {
      // A few hosts change state (or appear, or go), as a frame of events would.
      for (let k = 0; k < 1 + rand(12); k++) {
        const i = rand(320);
        const name = `h${String(i).padStart(3, '0')}`;
        if (rand(15) === 0) hosts.delete(name);
        else hosts.set(name, make(i));
        d.touch(name);
      }
      const kept = d.update(hosts, view);
      const fresh = derive(hosts.values(), view);
      if (JSON.stringify(kept) !== JSON.stringify(fresh)) {
        t.same(kept, fresh, `round ${round} of ${JSON.stringify(view)}`);
        return;
      }
    }
    t.pass(`40 rounds of changes kept up in place equal a full derive (sort ${view.sort}${view.desc ? ' desc' : ''}${view.state ? `, state ${view.state}` : ''})`);
  }
});
