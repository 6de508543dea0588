// Auto reboot and maintenance windows, with the daemon's clock started at a
// chosen time (TENDHOST_FAKE_TIME, TZ=UTC): a host whose window is open
// reboots at once; one whose window opens 15 s after the daemon started waits
// in waiting_reboot and then reboots by itself; one whose window is hours
// away keeps waiting until an operator asks for the reboot.
import t from 'tap';
import { FULL_CYCLE, startCycleFleet, UP_TO_WAITING, waitForState, type CycleFleet } from './helpers/fleet-cycle.js';

const INSIDE = 'sim-00001';
const OPENS = 'sim-00002';
const CLOSED = 'sim-00003';
const FAKE_START = '2026-03-04T10:59:45Z'; // a Wednesday
const OPENS_AFTER_MS = 15_000;

const WINDOWS: Record<string, string> = {
  [INSIDE]: 'maintenance_window = { start = "10:00", end = "12:00" }',
  [OPENS]: 'maintenance_window = { start = "11:00", end = "11:30", days = ["Wed"] }',
  [CLOSED]: 'maintenance_window = { start = "03:00", end = "04:00" }',
};

let f: CycleFleet;
let t0: number;
const boots = new Map<string, string>();

t.before(async () => {
  t0 = Date.now();
  f = await startCycleFleet({
    sim: { hosts: 3, mix: { debian: 1 }, pending: 2 },
    hostExtra: (h) => `[host.policy]\nauto_reboot = true\n${WINDOWS[h.name]}\n`,
    env: { TENDHOST_FAKE_TIME: FAKE_START, TZ: 'UTC' },
  });
  for (const name of [INSIDE, OPENS, CLOSED]) {
    boots.set(name, (await f.view(name)).boot_id);
    const r = await f.d.request('POST', `/hosts/${name}/update`, {});
    if (r.status !== 202) throw new Error(`update ${name}: ${r.status} ${r.text}`);
  }
});
t.teardown(() => f?.stop());

t.test('inside the window: reboots right after the upgrade', async (t) => {
  const host = await waitForState(f.d, INSIDE, 'idle', 20_000);
  t.same(f.events.states(INSIDE), FULL_CYCLE);
  t.ok(Date.now() - t0 < OPENS_AFTER_MS, 'done before the other window opened');
  t.match(host.last_updated, /^2026-03-04T10:59:/, 'last_updated comes from the daemon clock');
  t.not((await f.view(INSIDE)).boot_id, boots.get(INSIDE));
});

t.test('window closed now: waits in waiting_reboot, then reboots by itself when it opens', async (t) => {
  await waitForState(f.d, OPENS, 'waiting_reboot', 20_000);
  t.ok(Date.now() - t0 < OPENS_AFTER_MS - 1000, 'reached waiting_reboot before the window opened');
  t.same(f.events.states(OPENS), UP_TO_WAITING);
  t.equal((await f.view(OPENS)).counters.reboots, 0, 'no reboot before the window');

  const host = await waitForState(f.d, OPENS, 'idle', 40_000);
  t.same(f.events.states(OPENS), FULL_CYCLE, 'rebooted and verified without being asked');
  const rebooting = f.events.of(OPENS, 'HostStateChanged').find((e) => e.to === 'rebooting');
  const after = Date.parse(rebooting.ts) - t0;
  t.ok(after >= OPENS_AFTER_MS - 200 && after < OPENS_AFTER_MS + 8000, `the reboot began ${after} ms after start (window opened at ${OPENS_AFTER_MS})`);
  t.match(host.last_updated, /^2026-03-04T11:00:/, 'updated inside the window');
  const v = await f.view(OPENS);
  t.equal(v.counters.reboots, 1);
  t.not(v.boot_id, boots.get(OPENS));
});

t.test('window hours away: still waiting; an operator reboot is not held to the window', async (t) => {
  const waiting = await waitForState(f.d, CLOSED, 'waiting_reboot', 20_000);
  t.same(f.events.states(CLOSED), UP_TO_WAITING);
  t.equal(waiting.last_updated, null);
  t.equal((await f.view(CLOSED)).counters.reboots, 0, 'no reboot outside its window');
  const r = await f.d.request('POST', `/hosts/${CLOSED}/reboot`, {});
  t.equal(r.status, 202);
  await waitForState(f.d, CLOSED, 'idle', 20_000);
  t.same(f.events.states(CLOSED), FULL_CYCLE);
  const v = await f.view(CLOSED);
  t.equal(v.counters.reboots, 1);
  t.not(v.boot_id, boots.get(CLOSED));
});
