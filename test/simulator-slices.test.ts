// A fleet spread over several simulator processes (harness/simulator-slices.ts,
// used by harness/simulator-proc.ts): slices continue each other's names and
// addresses, and the control API of all of them answers as one fleet. The
// slices run in-process here; each is the same simulator a child process runs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadSsh2 } from '../workers/exec/ssh2-module.js';
import { startSimulator, type Simulator } from '../harness/simulator/index.js';
import { controlAll, fleetSlices, mergeSummaries, sliceOf } from '../harness/simulator-slices.js';
import { CMD } from '../workers/pkg/commands.js';

const { ssh2 } = loadSsh2();

t.test('a fleet is cut into contiguous slices as even as whole hosts allow', async (t) => {
  t.same(fleetSlices(100_000, 10).map((s) => s.count), Array(10).fill(10_000));
  t.same(fleetSlices(10, 3), [{ first: 1, count: 4 }, { first: 5, count: 3 }, { first: 8, count: 3 }]);
  t.same(fleetSlices(2, 5), [{ first: 1, count: 1 }, { first: 2, count: 1 }], 'never an empty slice');
  t.throws(() => fleetSlices(10, 0), /positive integer/);
  const slices = fleetSlices(100_000, 10);
  t.equal(sliceOf(slices, 'sim-000001'), 0);
  t.equal(sliceOf(slices, 'sim-042017'), 4);
  t.equal(sliceOf(slices, 'sim-100000'), 9);
  t.equal(sliceOf(slices, 'sim-100001'), -1, 'outside the fleet');
  t.equal(sliceOf(slices, 'db-primary'), -1, 'no number');
});

t.test('summaries add up, maps of counts too', async (t) => {
  const merged = mergeSummaries([
    { hosts: 2, up: 1, personas: { debian: 2 }, faults: {} },
    { hosts: 3, up: 3, personas: { debian: 1, fedora: 2 }, faults: { slow: 1 } },
  ]);
  t.same(merged, { hosts: 5, up: 4, personas: { debian: 3, fedora: 2 }, faults: { slow: 1 } });
});

t.test('three slices answer as one fleet: names, addresses, control and SSH', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-simslices-'));
  const base = `127.${60 + Math.floor(Math.random() * 180)}.${Math.floor(Math.random() * 200)}.1`;
  const slices = fleetSlices(10, 3);
  const sims: Simulator[] = [];
  t.teardown(() => Promise.all(sims.map((s) => s.stop())));
  for (const [k, s] of slices.entries()) {
    sims.push(await startSimulator({ hosts: s.count, first: s.first, nameWidth: 5, seed: 1 + k, baseAddr: base, port: 0, clientKeyPath: join(dir, 'key') }));
  }
  const call = async (k: number, path: string, body?: unknown) => {
    const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) };
    return (await fetch(sims[k]!.controlUrl + path, init)).json();
  };

  const { hosts } = (await controlAll(slices, call, '/hosts')) as { hosts: Array<{ name: string; addr: string }> };
  t.same(hosts.map((h) => h.name), Array.from({ length: 10 }, (_, i) => `sim-${String(i + 1).padStart(5, '0')}`), 'sim-00001 … sim-00010 in order');
  t.equal(new Set(hosts.map((h) => h.addr)).size, 10, 'every host its own address');
  t.equal(hosts[4]!.addr, base.replace(/\.1$/, '.5'), 'the second slice continues the addresses');

  const summary = await controlAll(slices, call, '/summary');
  t.equal(summary.hosts, 10);
  t.equal(summary.up, 10);
  t.equal(summary.pending, sims.reduce((n, s) => n + s.summary().pending, 0));

  const faulted = await controlAll(slices, call, '/fault', { hosts: ['sim-00002', 'sim-00009'], fault: 'auth', on: true });
  t.same(faulted.hosts.map((h: { name: string }) => h.name), ['sim-00002', 'sim-00009']);
  t.same([...sims[0]!.host('sim-00002')!.faults], ['auth'], 'set on the process that holds the host');
  t.same([...sims[2]!.host('sim-00009')!.faults], ['auth']);
  t.same((await controlAll(slices, call, '/hosts/sim-00009')).faults, ['auth']);
  await t.rejects(controlAll(slices, call, '/fault', { host: 'sim-00011', fault: 'auth', on: true }), /no process holds host "sim-00011"/);
  t.same(await controlAll(slices, call, '/reset-counters', {}), { ok: true });

  // The last slice's host over real SSH, with the same client key as the first slice.
  const last = sims[2]!.host('sim-00010')!;
  const c = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: last.addr, port: last.port, username: 'root', privateKey: readFileSync(join(dir, 'key')), readyTimeout: 5000 });
  });
  t.teardown(() => c.end());
  const out = await new Promise<string>((resolve, reject) => {
    c.exec(CMD.userId, (err, stream) => {
      if (err) return reject(err);
      let s = '';
      stream.on('data', (d: Buffer) => (s += d.toString()));
      stream.on('close', () => resolve(s));
    });
  });
  t.equal(out, '0\n');
  t.equal(sims[2]!.host('sim-00010')!.counters.execs, 1, 'the exec reached the slice that holds it');
});
