// SIGHUP re-reads tendhost.toml: new hosts get actors, removed hosts go (a
// busy one stays until it is idle, and the log says so), changed hosts are
// updated, groups apply at once; the diff is logged and audited. A bad file
// keeps the running configuration and the log names the file and the key.
import t from 'tap';
import { writeFileSync, readFileSync } from 'node:fs';
import { hostToml } from '../harness/simulator/toml.js';
import { until } from '../harness/daemon.js';
import { auditLines, startSimSetup, waitForJob } from './helpers/sim-daemon.js';

const n = (i: number) => `sim-${String(i).padStart(5, '0')}`;

t.test('SIGHUP applies host and group changes live', async (t) => {
  const setup = await startSimSetup(
    { hosts: 6, mix: { debian: 100 }, slowMs: 3000, faults: [`slow=${n(3)}`] },
    { include: (h) => ['sim-00001', 'sim-00002', 'sim-00003', 'sim-00004'].includes(h.name), toml: `[groups]\nweb = ["${n(1)}", "${n(2)}"]\n` },
  );
  t.teardown(() => setup.stop());
  const d = await setup.start();
  t.equal((await d.get('/hosts')).body.pagination.total_items, 4);
  const members = async (g: string) => (await d.get(`/groups/${g}`)).body.data.map((h: any) => h.name);
  t.same(await members('web'), [n(1), n(2)], 'group web before');
  t.same((await d.get('/groups')).body.data, [{ name: 'web', hosts: 2 }]);

  // sim-00003 is busy (its handshake takes 3 s) when the file drops it.
  const busy = await d.request('POST', `/hosts/${n(3)}/update`, { dry_run: true });
  t.equal(busy.status, 202);
  await until(async () => (await d.get(`/hosts/${n(3)}`)).body.state === 'querying');

  const other = setup.sim.host(n(6))!;
  setup.writeConfig({
    include: (h) => [n(2), n(4), n(5)].includes(h.name),
    // sim-00002 moves to another address (sim-00006's listener) and gets new tags.
    hostToml: (h, key) =>
      h.name === n(2)
        ? `[[host]]\nname = "${n(2)}"\naddr = "${other.addr}"\nport = ${other.port}\nuser = "root"\nssh_key = "${key}"\ntags = ["changed", "moved"]\n`
        : hostToml(h, key),
    toml: `[groups]\nweb = ["${n(2)}", "${n(5)}"]\ndb = ["${n(4)}"]\n`,
  });
  d.proc.kill('SIGHUP');
  const applied = await d.waitForLog((l) => l.msg === 'config reloaded');
  t.same(applied.added, [n(5)], 'the diff names the added host');
  t.same(applied.removed, [n(1)], 'the removed idle host');
  t.same(applied.deferred, [n(3)], 'the busy host kept for now');
  t.same(applied.changed, [n(2)], 'the changed host');
  t.equal(applied.groups_changed, true);
  const kept = d.logs.find((l) => l.msg === 'host removed from config is busy; it stays until it is idle');
  t.equal(kept?.host, n(3), 'the log says the busy host stays until idle');
  t.equal(kept?.state, 'querying');

  // Added: an actor that answers and runs a dry run.
  const added = await until(async () => {
    const r = await d.get(`/hosts/${n(5)}`);
    return r.status === 200 ? r.body : null;
  });
  t.equal(added.state, 'idle', 'the new host is there, idle');
  t.same(added.groups, ['web'], 'in its group');
  const run = await d.request('POST', `/hosts/${n(5)}/update`, { dry_run: true });
  t.equal(run.status, 202, 'the new host takes a dry run');
  t.equal((await waitForJob(d, run.body.job_id, (j) => j.state !== 'running')).state, 'succeeded', 'and completes it');

  // Removed: gone at once.
  t.equal((await d.get(`/hosts/${n(1)}`)).status, 404, 'the removed idle host is gone');
  t.equal((await d.request('POST', `/hosts/${n(1)}/update`, { dry_run: true })).status, 404);

  // Changed: new address and tags, used by the next operation.
  const changed = (await d.get(`/hosts/${n(2)}`)).body;
  t.equal(changed.addr, other.addr, 'the changed host shows its new address');
  t.same(changed.tags, ['changed', 'moved'], 'and its new tags');
  t.same(changed.groups, ['web']);
  const before6 = other.counters.connections;
  const run2 = await d.request('POST', `/hosts/${n(2)}/update`, { dry_run: true });
  t.equal((await waitForJob(d, run2.body.job_id, (j) => j.state !== 'running')).state, 'succeeded');
  t.ok(other.counters.connections > before6, 'the next operation connected to the new address');
  t.same((await d.get('/hosts?tag=moved')).body.data.map((h: any) => h.name), [n(2)], 'tag filters see the new tags');

  // Groups: at once.
  t.same((await d.get('/groups')).body.data, [{ name: 'db', hosts: 1 }, { name: 'web', hosts: 2 }], 'GET /groups lists the new groups');
  t.same(await members('web'), [n(2), n(5)], 'group web has its new members');
  t.same(await members('db'), [n(4)], 'group db has its member');
  t.same((await d.get(`/hosts/${n(4)}`)).body.groups, ['db'], "a host's groups follow");

  // The busy host finishes, then goes, and the log says so.
  t.equal((await d.get(`/hosts/${n(3)}`)).status, 200, 'the busy host is still there while busy');
  await waitForJob(d, busy.body.job_id, (j) => j.state !== 'running', 20_000);
  const gone = await d.waitForLog((l) => l.msg === 'host removed from config is idle now and was removed', 10_000);
  t.equal(gone.host, n(3));
  t.equal((await d.get(`/hosts/${n(3)}`)).status, 404, 'and is gone once idle');
  t.equal((await d.get('/hosts')).body.pagination.total_items, 3, 'three hosts now');

  await until(() => auditLines(setup.auditFile).some((l) => l.action === 'config.reload'), 5000);
  const audit = auditLines(setup.auditFile).find((l) => l.action === 'config.reload');
  t.equal(audit.result, 'applied', 'the reload is audited');
  t.same(audit.details.added, [n(5)]);
  t.same(audit.details.removed, [n(1)]);
  t.same(audit.details.deferred, [n(3)]);
  t.same(audit.details.changed, [n(2)]);

  // A bad file: the running configuration stays; the log names the file and the key.
  const good = readFileSync(setup.configFile, 'utf8');
  writeFileSync(setup.configFile, good.replace(`name = "${n(4)}"`, `name = "${n(4)}"\nprot = 22`));
  d.proc.kill('SIGHUP');
  const failed = await d.waitForLog((l) => l.msg === 'config reload failed; keeping the running configuration');
  t.equal(failed.file, setup.configFile, 'the log names the file');
  t.match(String(failed.err), /prot/, 'and the key');
  t.equal(failed.level, 'error');
  t.equal((await d.get('/hosts')).body.pagination.total_items, 3, 'hosts unchanged');
  t.equal((await d.get(`/hosts/${n(4)}`)).status, 200);
  await until(() => auditLines(setup.auditFile).some((l) => l.action === 'config.reload' && String(l.result).startsWith('rejected')), 5000);

  // A later good reload still works from the running config.
  writeFileSync(setup.configFile, good.replace(`tags = ["changed", "moved"]`, `tags = ["changed"]`));
  d.proc.kill('SIGHUP');
  await until(() => d.logs.filter((l) => l.msg === 'config reloaded').length === 2);
  const second = d.logs.filter((l) => l.msg === 'config reloaded')[1];
  t.same(second.changed, [n(2)], 'the next good reload applies');
  t.same(second.added, []);
  t.same((await d.get(`/hosts/${n(2)}`)).body.tags, ['changed']);
});
