// The read API as a client sees it: /health, /hosts with paging and filters,
// /hosts/:name, and the 400/404/405 answers.
import t from 'tap';
import { startDaemon, type Daemon } from '../harness/daemon.js';
import { shardOf } from '../src/pool/shard-of.js';

function fleetToml(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) {
    const name = `web-${String(i).padStart(3, '0')}`;
    const tags = [i % 2 ? 'odd' : 'even', i % 3 === 0 ? 'three' : 'other', 'fleet'];
    s += `[[host]]\nname = "${name}"\naddr = "127.0.0.${(i % 250) + 1}"\ntags = ${JSON.stringify(tags)}\n\n`;
  }
  s += `[[host]]\nname = "db-1"\naddr = "127.1.0.1"\ntags = ["db"]\n\n`;
  s += `[groups]\nfirst-ten = [${Array.from({ length: 10 }, (_, i) => `"web-${String(i + 1).padStart(3, '0')}"`).join(', ')}]\ndbs = ["db-1"]\n`;
  return s;
}

let d: Daemon;
t.before(async () => {
  d = await startDaemon({ toml: fleetToml(120), workers: 2 });
});
t.teardown(async () => {
  await d?.stop();
});

t.test('GET /health reports the daemon', async (t) => {
  const r = await d.get('/health');
  t.equal(r.status, 200);
  t.equal(r.body.status, 'healthy');
  t.equal(r.body.uws.build, 'native', 'uWS native binary loaded');
  t.equal(r.body.workers, 2);
  t.equal(r.body.hosts, 121);
  t.type(r.body.version, 'string');
  t.type(r.body.uptime_s, 'number');
  t.ok(r.headers.get('x-request-id'), 'request id header');
});

t.test('GET /hosts pages through every host in name order', async (t) => {
  const first = await d.get('/hosts');
  t.equal(first.status, 200);
  t.same(first.body.pagination, { page: 1, per_page: 50, total_items: 121, total_pages: 3 });
  t.equal(first.body.data.length, 50);
  t.equal(first.body.data[0].name, 'db-1');
  const seen = new Set<string>();
  for (let page = 1; page <= 3; page++) {
    const r = await d.get(`/hosts?page=${page}&per_page=50`);
    for (const h of r.body.data) seen.add(h.name);
  }
  t.equal(seen.size, 121, 'every host exactly once across pages');
  const h = first.body.data[1];
  t.same(Object.keys(h).sort(), [
    'addr', 'compose', 'error', 'failed', 'groups', 'job_id', 'last_updated', 'name', 'package_manager', 'pending_updates', 'shard', 'state', 'tags',
  ]);
  t.equal(h.state, 'idle');
  t.equal(h.pending_updates, null);
  t.equal(h.last_updated, null);
  t.equal(h.failed, null);
  const empty = await d.get('/hosts?page=9');
  t.same(empty.body.data, [], 'a page past the end is empty');
});

t.test('GET /hosts filters: tag (AND), state, group, search', async (t) => {
  const odd = await d.get('/hosts?tag=odd&per_page=200');
  t.equal(odd.body.pagination.total_items, 60);
  const oddThree = await d.get('/hosts?tag=odd&tag=three&per_page=200');
  t.equal(oddThree.body.pagination.total_items, 20, 'repeated tag means all of them');
  t.ok(oddThree.body.data.every((h: any) => h.tags.includes('odd') && h.tags.includes('three')));
  const grp = await d.get('/hosts?group=first-ten');
  t.equal(grp.body.pagination.total_items, 10);
  t.ok(grp.body.data.every((h: any) => h.groups.includes('first-ten')));
  const idle = await d.get('/hosts?state=idle&per_page=1');
  t.equal(idle.body.pagination.total_items, 121);
  const failed = await d.get('/hosts?state=failed');
  t.equal(failed.body.pagination.total_items, 0);
  const search = await d.get('/hosts?search=web-11');
  t.same(search.body.data.map((h: any) => h.name), ['web-110', 'web-111', 'web-112', 'web-113', 'web-114', 'web-115', 'web-116', 'web-117', 'web-118', 'web-119']);
});

t.test('GET /hosts rejects bad queries with 400 naming the field', async (t) => {
  for (const [q, field] of [
    ['per_page=201', 'per_page'],
    ['per_page=0', 'per_page'],
    ['page=0', 'page'],
    ['page=abc', 'page'],
    ['state=sleeping', 'state'],
    ['colour=red', 'colour'],
  ] as const) {
    const r = await d.get(`/hosts?${q}`);
    t.equal(r.status, 400, q);
    t.equal(r.body.code, 'VALIDATION_FAILED', q);
    t.match(r.body.message, field, `${q} names ${field}`);
  }
});

t.test('GET /hosts/:name and its 404', async (t) => {
  const r = await d.get('/hosts/web-007');
  t.equal(r.status, 200);
  t.equal(r.body.name, 'web-007');
  t.equal(r.body.addr, '127.0.0.8');
  t.equal(r.body.shard, shardOf('web-007', 2), 'shard is the stable hash of the name');
  const missing = await d.get('/hosts/nope');
  t.equal(missing.status, 404);
  t.same(missing.body, { code: 'HOST_NOT_FOUND', message: 'host nope not found' });
  const bad = await d.get('/hosts/-bad');
  t.equal(bad.status, 400, 'a name outside the allowed pattern is a 400');
});

t.test('unknown routes are 404 and wrong methods 405, as JSON', async (t) => {
  const r = await d.get('/nowhere');
  t.equal(r.status, 404);
  t.equal(r.body.code, 'ROUTE_NOT_FOUND');
  const m = await d.request('PUT', '/hosts/web-001', {});
  t.equal(m.status, 405);
  t.equal(m.body.code, 'METHOD_NOT_ALLOWED');
  t.match(m.headers.get('allow') ?? '', /GET/);
});

t.test('every host keeps its shard across many commands', async (t) => {
  // A command routed to the wrong worker is refused with a 500 by the worker
  // itself; the right worker answers 409 (the host is not failed).
  const names = Array.from({ length: 40 }, (_, i) => `web-${String(i + 1).padStart(3, '0')}`);
  const calls = [];
  for (let round = 0; round < 5; round++) for (const n of names) calls.push(d.request('POST', `/hosts/${n}/retry`, {}));
  const results = await Promise.all(calls);
  t.same(new Set(results.map((r) => r.status)), new Set([409]), 'every command reached the owning worker');
  t.ok(results.every((r) => r.body.code === 'HOST_NOT_FAILED'));
  const shards = new Set<number>();
  for (const n of names) shards.add((await d.get(`/hosts/${n}`)).body.shard);
  t.same([...shards].sort(), [0, 1], 'both workers own hosts');
});

t.test('one log line per request with method, path, status, ms', async (t) => {
  await d.get('/hosts/web-042', { 'x-request-id': 'trace-me-42' });
  const line = await d.waitForLog((l) => l.msg === 'request' && l.req_id === 'trace-me-42');
  t.equal(line.method, 'GET');
  t.equal(line.path, '/hosts/web-042');
  t.equal(line.status, 200);
  t.type(line.ms, 'number');
});
