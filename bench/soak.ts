// A soak that proves nothing leaks: a daemon on SOAK_HOSTS simulated hosts
// (a separate simulator process, with its faults on a share of the fleet) for
// SOAK_MINUTES, doing everything at once: fleet rollouts back to back (real
// updates and dry runs), a config rewrite + SIGHUP every minute that adds and
// removes hosts, one worker thread killed (the hosts it cut short are retried afterwards), WebSocket clients joining,
// filtering, losing their connection and resuming with ?since=, and leaving,
// and API reads at a steady rate. It reports, with the goals beside them:
// RSS and heap over time (sampled every ~10 s; they must level off), every
// job's accounting (completed + failed + unreachable + skipped = selected),
// the 5xx count (0), events lost or repeated on the wire of any client
// (0; and each resumed client's model equals GET /hosts at the end), and the
// slowest API read.
//
//   npx tsc && node dist/bench/soak.js
//   SOAK_MINUTES=10 SOAK_HOSTS=10000 SOAK_WORKERS=2 SOAK_BASE_ADDR=127.77.0.1 (the defaults) node dist/bench/soak.js
//   SOAK_JOB_RESULTS=N: the daemon keeps N per-host job results in memory (default 200,000)
//
// Each rollout is accounted when it ends (summary and paged host results):
// the daemon evicts old jobs from memory, and at the end those are counted as
// evicted, not failed.
//
// Every loop is bounded by the deadline (a rollout still going then is
// cancelled and given a bounded time to end);
// everything is on loopback. Exit 1 when a goal is missed.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { envNumber, resultFile } from './lib/bench-env.js';
import { startSimulatorProc } from '../harness/simulator-proc.js';
import { sampleMemory, trend, PLATEAU_MIB_PER_MIN, PLATEAU_SHARE_OF_FIRST, type MemorySample } from './lib/soak-memory.js';
import { startReads } from './lib/soak-reads.js';
import { startClient, type SoakClient } from './lib/soak-clients.js';
import { fleetFile } from './lib/soak-fleet.js';
import { accountRollout, checkModels, jobAccounting, waitForRollout, type JobCheck } from './lib/soak-checks.js';
import { retryWorkerFailures } from './lib/soak-retry.js';
import { startDaemon } from '../harness/daemon.js';

const MINUTES = envNumber('SOAK_MINUTES', 10);
const HOSTS = Math.round(envNumber('SOAK_HOSTS', 10_000));
const WORKERS = Math.round(envNumber('SOAK_WORKERS', 2));
/** The daemon's bound on per-host job results in memory (0 = its default, 200,000); small values make a short soak reach eviction. */
const JOB_RESULTS = process.env.SOAK_JOB_RESULTS ? Math.round(envNumber('SOAK_JOB_RESULTS', 1)) : 0;
const SAMPLE_MS = 10_000;
const RELOAD_MS = 60_000;
/** Hosts swapped in and out of the config per reload (and held back at start). */
const CHURN = Math.max(1, Math.round(HOSTS / 200));
/** At most this many WebSocket clients at once (a snapshot of 10,000 hosts is ~5 MB each). */
const MAX_CLIENTS = 12;
/** Unfiltered clients kept for the whole run, dropped and resumed again and again: checked against GET /hosts at the end. */
const CHECKERS = 3;

/** Faults on a share of the fleet: the field's troubles, about 4 % of hosts in all. */
const FAULTS = ['drop=0.5%', 'slow=0.5%', 'reboot-never=0.3%', 'lock=0.3%', 'disk-full=0.5%', 'changed-key=0.3%', 'timeout=0.2%', 'refused=0.3%', 'auth=0.2%'];

/** Stops what the soak started, also when it fails half-way (the simulator would outlive it). */
const cleanups: Array<() => Promise<unknown>> = [];
let stoppingDaemon = false;

function log(msg: string): void {
  console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-soak-'));
  const deadline = performance.now() + MINUTES * 60_000;
  const sim = await startSimulatorProc({
    hosts: HOSTS,
    dir,
    // Its own block of loopback addresses: other benchmarks' simulators use the default one.
    baseAddr: process.env.SOAK_BASE_ADDR ?? '127.77.0.1',
    durationS: MINUTES * 60 + 600,
    // A changed-key host shows the fleet key for its first connections (so the daemon learns it), then another.
    extraArgs: [...FAULTS.flatMap((f) => ['--fault', f]), '--changed-key-after', '3', '--reboot-required-pct', '20', '--slow-ms', '4000'],
  });
  const d = await startDaemon({
    workers: WORKERS,
    logLevel: 'info',
    env: { TENDHOST_TEST_SWITCHES: ['crash-worker', ...(JOB_RESULTS > 0 ? [`job-results:${JOB_RESULTS}`] : [])].join(',') },
    daemon: [
      '[daemon.ssh]',
      'max_handshakes_per_worker = 64',
      'max_sessions_per_worker = 4000',
      'idle_timeout_s = 5',
      'connect_timeout_s = 10',
      '[daemon.operations]',
      'command_timeout_s = 20',
      'lock_timeout_s = 5',
      'reboot_deadline_s = 30',
      'reboot_poll_s = 1',
    ].join('\n'),
    toml: readFileSync(sim.toml, 'utf8'),
  }).catch(async (err) => {
    await sim.stop();
    throw err;
  });
  cleanups.push(() => d.stop(), () => sim.stop());
  // A daemon that dies mid-soak is the finding: say how, with its last words.
  void d.exited.then((code) => {
    if (!stoppingDaemon) {
      console.error(`soak: the daemon exited (${code}) during the soak; stderr: ${d.stderr.join('').slice(-3000)}`);
      console.error(`soak: its last error logs: ${JSON.stringify(d.logs.filter((l) => Number(l.level) >= 50).slice(-10))}`);
    }
  });
  const fleet = fleetFile(d.configFile, CHURN);
  d.proc.kill('SIGHUP'); // the start-up file had every host: now the held-back ones leave
  const t0 = performance.now();
  const left = () => deadline - performance.now();
  const failures: string[] = [];
  const samples: MemorySample[] = [];
  const jobs: string[] = [];
  /** Each rollout accounted when it ended (the daemon may evict it from memory later). */
  const accounted = new Map<string, JobCheck>();
  const clients: SoakClient[] = [];
  const retired: SoakClient[] = [];
  let nextClientId = 0;
  let reloads = 0;
  let reloadsOk = 0;
  let workerKilled = false;
  let retriedAfterKill = 0;
  let stopping = false;

  // Keep only what the report reads from the daemon's log (it logs per host at info).
  const trimLogs = setInterval(() => {
    const keep = d.logs.filter((l) => l.msg === 'config reloaded' || l.msg === 'config reload failed; keeping the running configuration' || Number(l.level) >= 50);
    d.logs.length = 0;
    d.logs.push(...keep.slice(-200));
  }, 5_000);

  // The workers report their heap every 2 s: start sampling once they have.
  for (let i = 0; i < 50 && (await sampleMemory(d.proc.pid!, `${d.url}/metrics`, performance.now())).workers_heap_mib === 0; i++) await new Promise((r) => setTimeout(r, 200));
  const sampler = setInterval(() => {
    sampleMemory(d.proc.pid!, `${d.url}/metrics`, t0).then((s) => samples.push(s), (err) => failures.push(`memory sample: ${(err as Error).message}`));
  }, SAMPLE_MS);
  samples.push(await sampleMemory(d.proc.pid!, `${d.url}/metrics`, t0));

  const presentList = () => [...fleet.present];
  let readCursor = 0;
  const reads = startReads(d.url, {
    someHost: () => {
      const names = presentList();
      return names[(readCursor += 7919) % names.length];
    },
    someJob: () => jobs.at(-1),
  }, 100);

  // Reload: every minute, some hosts out of the file and some in, then SIGHUP.
  const reloader = setInterval(() => {
    if (stopping) return;
    const { added, removed } = fleet.churn(CHURN);
    reloads++;
    d.proc.kill('SIGHUP');
    log(`reload ${reloads}: +${added.length} −${removed.length} hosts`);
  }, RELOAD_MS);

  // The worker thread of shard 0, killed once, 40 % into the run.
  const killer = setTimeout(() => {
    d.proc.kill('SIGUSR2');
    workerKilled = true;
    log('killed the worker of shard 0');
  }, MINUTES * 60_000 * 0.4);

  // WebSocket clients: checkers for the whole run; others come, filter, go.
  for (let i = 0; i < CHECKERS; i++) clients.push(startClient(d.url, nextClientId++));
  let churnStep = 0;
  const churnClients = setInterval(() => {
    if (stopping) return;
    churnStep++;
    // Cut one checker's connection: it resumes with ?since= from its model's seq.
    clients[churnStep % CHECKERS]!.drop();
    const others = clients.slice(CHECKERS);
    switch (churnStep % 4) {
      case 0:
        if (clients.length < MAX_CLIENTS) clients.push(startClient(d.url, nextClientId++, churnStep % 8 === 0 ? { tags: ['fedora'] } : { types: ['HostStateChanged', 'JobFinished'] }));
        break;
      case 1:
        others.at(-1)?.drop();
        break;
      case 2:
        others[0]?.stream.setFilter({ tags: [churnStep % 3 === 0 ? 'debian' : 'compose'] });
        break;
      case 3: {
        const leaving = others[0];
        if (leaving && others.length > 2) {
          leaving.stream.close();
          clients.splice(clients.indexOf(leaving), 1);
          retired.push(leaving);
        }
        break;
      }
    }
  }, 3_000);

  // Rollouts back to back until the deadline: every third a real update (with new pending packages first).
  let rollout = 0;
  while (left() > 30_000) {
    rollout++;
    const real = rollout % 3 === 1;
    if (real) {
      // In slices: the control endpoint takes bodies of a few KB.
      const names = presentList();
      for (let i = 0; i < names.length; i += 500) await sim.json('/pending', { hosts: names.slice(i, i + 500), count: 3 });
    }
    const r = await d.request('POST', '/fleet/update', { dry_run: !real, batch_size: HOSTS, max_failures: '100%', max_unreachable: '100%' });
    if (r.status !== 202) {
      failures.push(`POST /fleet/update: ${r.status} ${r.text.slice(0, 200)}`);
      await new Promise((res) => setTimeout(res, 5_000));
      continue;
    }
    jobs.push(r.body.job_id);
    // A rollout of 10,000 hosts takes minutes on a busy machine: the one still going at the end is cancelled.
    const job = await waitForRollout(d.url, r.body.job_id, deadline, 240_000);
    log(`rollout ${rollout} (${real ? 'update' : 'dry run'}) ${job.id}: ${job.state}${job.cancelled ? ' (cancelled at the end of the soak)' : ''}, ${JSON.stringify(job.summary)}`);
    try {
      accounted.set(job.id, await accountRollout(d.url, job.id));
    } catch (err) {
      failures.push(`accounting rollout ${job.id} when it ended: ${(err as Error).message}`);
    }
    // Hosts the worker kill cut short go back to work, as an operator would send them.
    if (workerKilled && left() > 30_000) {
      const r = await retryWorkerFailures(d.url, job.id).catch((err: Error) => {
        failures.push(`retrying the hosts the worker kill failed: ${err.message}`);
        return null;
      });
      if (r && (r.retried > 0 || Object.keys(r.refused).length > 0)) {
        retriedAfterKill += r.retried;
        log(`retried ${r.retried} hosts the worker kill had failed${Object.keys(r.refused).length ? ` (refused: ${JSON.stringify(r.refused)})` : ''}`);
        if (Object.keys(r.refused).some((status) => Number(status) >= 500)) failures.push(`a retry after the worker kill answered 5xx: ${JSON.stringify(r.refused)}`);
      }
    }
  }
  stopping = true;
  clearInterval(reloader);
  clearInterval(churnClients);
  clearTimeout(killer);
  const readStats = await reads.stop();
  // Each SIGHUP (ours and the one at start) ends in one 'config reloaded' line; a reload of 10,000 hosts can take seconds.
  const reloadLines = (msg: string) => d.logs.filter((l) => l.msg === msg).length;
  for (let i = 0; i < 60 && reloadLines('config reloaded') < reloads + 1; i++) await new Promise((r) => setTimeout(r, 500));
  reloadsOk = reloadLines('config reloaded') - 1;
  if (reloadLines('config reload failed; keeping the running configuration') > 0) failures.push('a config reload failed');

  // Quiet: every job accounted for, and every connected client's model against the daemon's.
  const jobChecks: JobCheck[] = await jobAccounting(d.url, accounted);
  const modelCheck = await checkModels(d.url, clients.slice(0, CHECKERS), 60_000);
  clearInterval(sampler);
  samples.push(await sampleMemory(d.proc.pid!, `${d.url}/metrics`, t0));
  clearInterval(trimLogs);
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  const replaced = [...metrics.matchAll(/^tendhost_worker_replacements_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  for (const c of clients) c.stream.close();
  const stderr = d.stderr.join('').slice(-2000);
  stoppingDaemon = true;
  await d.stop();
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(d.dir, { recursive: true, force: true });

  const tallies = [...clients, ...retired].map((c) => c.tally);
  const rss = trend(samples, (s) => s.rss_mib);
  const frontHeap = trend(samples, (s) => s.front_heap_mib);
  const workersHeap = trend(samples, (s) => s.workers_heap_mib);
  const badJobs = jobChecks.filter((j) => !j.balanced);
  const evicted = jobChecks.filter((j) => j.evicted).length;
  const lost = tallies.reduce((n, t) => n + t.gaps, 0);
  const repeated = tallies.reduce((n, t) => n + t.duplicates, 0);
  const result = {
    benchmark: 'soak',
    node: process.version,
    minutes: MINUTES,
    hosts: HOSTS,
    workers: WORKERS,
    faults: FAULTS,
    rollouts: jobs.length,
    jobs_evicted: evicted,
    reloads: { sent: reloads, confirmed: reloadsOk, hosts_swapped_each: CHURN },
    worker_killed: workerKilled,
    worker_replacements: replaced,
    hosts_retried_after_kill: retriedAfterKill,
    memory: { rss, front_heap: frontHeap, workers_heap: workersHeap, samples },
    jobs: jobChecks,
    reads: readStats,
    clients: { total: tallies.length, resumes: tallies.reduce((n, t) => n + t.resumes, 0), resyncs: tallies.reduce((n, t) => n + t.resyncs, 0), events_lost: lost, events_repeated: repeated, tallies },
    models: modelCheck,
    failures,
  };
  const out = resultFile('soak');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');

  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  const memLine = (label: string, t: typeof rss) =>
    `${label}: ${t.first_mib} → ${t.last_mib} MiB (max ${t.max_mib}); per-minute floors ${t.floors_mib.join(' ')} MiB; ` +
    `their slope over the first third ${t.first_third_mib_per_min} MiB/min, the last third ${t.last_third_mib_per_min} MiB/min ` +
    `[goal: levels off — last third ≤ ${PLATEAU_MIB_PER_MIN} MiB/min or ≤ ${PLATEAU_SHARE_OF_FIRST}× the first] ${ok(t.plateaus)}`;
  console.log(`\nsoak: ${MINUTES} min, ${HOSTS} hosts, ${WORKERS} workers, ${samples.length} memory samples`);
  console.log(memLine('RSS', rss));
  console.log(memLine('front heap', frontHeap));
  console.log(memLine('workers heap (sum)', workersHeap));
  console.log(
    `rollouts: ${jobs.length}, each accounted when it ended; accounting completed+failed+unreachable+skipped = selected in ${jobChecks.length - badJobs.length}/${jobChecks.length} jobs [goal: all] ${ok(badJobs.length === 0 && jobChecks.length > 0)}` +
      `; ${evicted} of ours evicted from the daemon's memory by its job bounds by the end (checked when they ended)`,
  );
  for (const j of badJobs) console.log(`  job ${j.id}: ${j.state} ${JSON.stringify(j.summary)}`);
  console.log(`API reads: ${readStats.requests} (${JSON.stringify(readStats.by_status)}), 5xx ${readStats.errors_5xx} [goal: 0] ${ok(readStats.errors_5xx === 0)}, no answer ${readStats.no_answer} [goal: 0] ${ok(readStats.no_answer === 0)}, p99 ${readStats.p99_ms} ms, slowest ${readStats.slowest_ms} ms (${readStats.slowest})`);
  console.log(`WebSocket clients: ${tallies.length}, resumes ${result.clients.resumes}, resyncs ${result.clients.resyncs}; events lost ${lost}, repeated ${repeated} [goal: 0] ${ok(lost === 0 && repeated === 0)}`);
  for (const t of tallies.filter((x) => x.problems.length)) console.log(`  client ${t.id}: ${t.problems.join('; ')}`);
  console.log(`resumed clients' models vs GET /hosts (${modelCheck.hosts} hosts): ${modelCheck.mismatches} differences [goal: 0] ${ok(modelCheck.mismatches === 0)}${modelCheck.examples.length ? ` — ${modelCheck.examples.join('; ')}` : ''}`);
  console.log(`reloads: ${reloads} sent, ${reloadsOk} confirmed [goal: all] ${ok(reloadsOk === reloads)}; worker killed: ${workerKilled}, replacements ${replaced} [goal: ≥ 1] ${ok(!workerKilled || replaced >= 1)}; hosts it failed retried ${retriedAfterKill}`);
  if (failures.length) console.log(`harness failures: ${failures.slice(0, 10).join('; ')}`);
  console.log(`result: ${out}`);
  const missed =
    !rss.plateaus || !frontHeap.plateaus || !workersHeap.plateaus || badJobs.length > 0 || jobChecks.length === 0 || readStats.errors_5xx > 0 || readStats.no_answer > 0 ||
    lost > 0 || repeated > 0 || modelCheck.mismatches > 0 || reloadsOk !== reloads || (workerKilled && replaced < 1) || failures.length > 0;
  if (missed) {
    if (stderr) console.error(`daemon stderr (tail): ${stderr}`);
    process.exit(1);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all(cleanups.map((stop) => stop().catch(() => {}))).then(() => process.exit(1));
  });
}
try {
  await main();
} catch (err) {
  console.error(`soak: ${(err as Error).stack ?? err}`);
  stoppingDaemon = true;
  for (const stop of cleanups) await stop().catch(() => {});
  process.exit(1);
}
