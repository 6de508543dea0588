// WebSocket fan-out: 1,000 `ws` clients on loopback (spread over a few client
// processes) subscribed to every event, while the daemon drives real dry-run
// fleet rollouts against the simulator (POST /fleet/update, one small group of
// hosts after another, paced to a target event rate: HostStateChanged,
// UpdateProgress, UpdateCompleted, Fleet* — no synthetic source in the daemon).
// Then, in the same run and to the same client processes, a bare uWS.js server
// (bench/baselines/ws-publish.ts) publishes the same messages at the same
// moments, as recorded from the daemon's stream — once alone, and once while
// the daemon runs the same rollouts again (their events to the recorder only),
// so the machine's share of the latency is told from the fan-out's.
//
//   npx tsc && node dist/bench/ws-fanout.js
//   WS_FANOUT_CLIENTS=1000 WS_FANOUT_PROCS=2 WS_FANOUT_RATES=200,500 WS_FANOUT_SECONDS=10 node dist/bench/ws-fanout.js
//
// Reported per rate: events/s published, deliveries/s across clients (and the
// share of the expected events × clients delivered), p50/p99/max latency
// (event `ts` stamped by the broadcaster → client receive time, same clock),
// and server CPU per delivery from /proc: the daemon's front thread (where
// broadcaster and uWS run), the daemon's whole process (worker threads doing
// the SSH work of the rollouts included), and the bare uWS process.
// Targets: daemon ≥ 80 % of raw uWS throughput, CPU per delivery within
// 1.25×, p99 < 50 ms at 200 events/s to 1,000 clients.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { processCpuMicros, clockTicksPerSecond } from './lib/proc-cpu.js';
import { startDaemon, type Daemon } from '../harness/daemon.js';
import { startSimulator } from '../harness/simulator/index.js';
import { hostToml } from '../harness/simulator/toml.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLIENTS = Number(process.env.WS_FANOUT_CLIENTS ?? 1000);
const PROCS = Number(process.env.WS_FANOUT_PROCS ?? 2);
const RATES = (process.env.WS_FANOUT_RATES ?? '200,500').split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(process.env.WS_FANOUT_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const HOSTS = 120;
const GROUP = 2;

/** utime + stime of one thread (the front thread: tid = pid), in µs. */
function threadCpuMicros(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1e6) / clockTicksPerSecond();
}

interface Report {
  deliveries: number;
  bytes: number;
  hist: number[];
  gaps: number;
  closed: number;
}

class ClientProc {
  readonly proc: ChildProcess;
  #waiting: Array<(m: any) => void> = [];
  constructor() {
    this.proc = fork(join(HERE, 'lib/ws-fanout-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m) => this.#waiting.shift()?.(m));
  }
  ask(msg: object): Promise<any> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.proc.send(msg);
    });
  }
}

function quantile(hist: number[], q: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let ms = 0; ms < hist.length; ms++) {
    acc += hist[ms];
    if (acc >= total * q) return ms;
  }
  return hist.length - 1;
}

function merge(reports: Report[]): Report {
  const out: Report = { deliveries: 0, bytes: 0, hist: new Array(reports[0].hist.length).fill(0), gaps: 0, closed: 0 };
  for (const r of reports) {
    out.deliveries += r.deliveries;
    out.bytes += r.bytes;
    out.gaps += r.gaps;
    out.closed += r.closed;
    r.hist.forEach((n, i) => (out.hist[i] += n));
  }
  return out;
}

interface Row {
  server: string;
  rate: number;
  events: number;
  events_per_s: number;
  deliveries_per_s: number;
  delivered_pct: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  cpu_us_per_delivery: number;
  cpu_us_per_delivery_process?: number;
  gaps: number;
  dropped: number;
}

function row(server: string, rate: number, events: number, elapsedS: number, r: Report, cpuUs: number, cpuProcUs?: number): Row {
  let max = r.hist.length - 1;
  while (max > 0 && r.hist[max] === 0) max--;
  return {
    server,
    rate,
    events,
    events_per_s: Math.round(events / elapsedS),
    deliveries_per_s: Math.round(r.deliveries / elapsedS),
    delivered_pct: Math.round((1000 * r.deliveries) / Math.max(1, events * CLIENTS)) / 10,
    p50_ms: quantile(r.hist, 0.5),
    p99_ms: quantile(r.hist, 0.99),
    max_ms: max,
    cpu_us_per_delivery: Math.round((1000 * cpuUs) / Math.max(1, r.deliveries)) / 1000,
    ...(cpuProcUs !== undefined ? { cpu_us_per_delivery_process: Math.round((1000 * cpuProcUs) / Math.max(1, r.deliveries)) / 1000 } : {}),
    gaps: r.gaps,
    dropped: r.closed,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-wsfan-'));
  const sim = await startSimulator({ hosts: HOSTS, baseAddr: '127.77.0.1', port: 0, mix: { debian: 1 }, clientKeyPath: join(dir, 'client_key') });
  const groups = Array.from({ length: HOSTS / GROUP }, (_, g) => sim.hosts.slice(g * GROUP, (g + 1) * GROUP).map((h) => h.name));
  let d: Daemon | null = null;
  const procs: ClientProc[] = [];
  let baseline: ChildProcess | null = null;
  try {
    d = await startDaemon({
      workers: 2,
      logLevel: 'info',
      toml:
        `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${join(dir, 'known_hosts')}"\nidle_timeout_s = 600\n\n` +
        sim.hosts.map((h) => hostToml(h, sim.clientKeyPath)).join('\n') +
        `\n[groups]\n${groups.map((g, i) => `g${i} = ${JSON.stringify(g)}`).join('\n')}\n`,
    });
    const daemon = d;
    // The recorder: one more client, not counted, that keeps every message's arrival and size.
    const rec: Array<{ at: number; text: string; job: string | null; type: string }> = [];
    const recWs = new WebSocket(`ws://127.0.0.1:${daemon.port}/ws/events`, { perMessageDeflate: false });
    recWs.on('message', (m: Buffer) => {
      const text = m.toString();
      const e = JSON.parse(text);
      if (e.type !== 'Snapshot') rec.push({ at: performance.now(), text, job: e.job_id ?? null, type: e.type });
    });
    await new Promise((r) => recWs.once('open', r));

    const fleet = async (body: object): Promise<string> => {
      const r = await daemon.request('POST', '/fleet/update', body);
      if (r.status !== 202) throw new Error(`POST /fleet/update: ${r.status} ${r.text}`);
      return r.body.job_id;
    };
    const finished = (id: string) => rec.some((e) => e.type === 'FleetUpdateCompleted' && e.job === id);
    const waitAll = async (ids: string[], ms = 60_000) => {
      const until = Date.now() + ms;
      while (!ids.every(finished)) {
        if (Date.now() > until) throw new Error('rollouts did not finish');
        await sleep(20);
      }
    };

    // Warm-up: every host connected once (later dry runs reuse the SSH sessions).
    await waitAll([await fleet({ dry_run: true, batch_size: HOSTS })]);
    // Events per small rollout (a group of GROUP hosts), to pace the rate:
    // every event the stream carried meanwhile, not only those naming the job
    // (a host's status changes carry no job id; counting only the job's own
    // events paced the run at about 1.5× the rate asked for).
    await sleep(300);
    const calib: string[] = [];
    const calibFrom = rec.length;
    for (let i = 0; i < 4; i++) {
      calib.push(await fleet({ dry_run: true, filter: { groups: [`g${i}`] } }));
      await waitAll([calib[i]]);
    }
    await sleep(300);
    const perRollout = (rec.length - calibFrom) / calib.length;
    console.log(`calibration: ${perRollout.toFixed(1)} events per dry-run rollout of ${GROUP} hosts`);
    /** Small dry-run rollouts paced to `rate` events/s for `seconds`, then until they finish. */
    const rollouts = async (rate: number, seconds = SECONDS): Promise<void> => {
      const t0 = performance.now();
      const intervalMs = (1000 * perRollout) / rate;
      const ids: string[] = [];
      let g = 0;
      let next = t0;
      while (performance.now() - t0 < seconds * 1000) {
        ids.push(await fleet({ dry_run: true, filter: { groups: [`g${g++ % groups.length}`] } }));
        next += intervalMs;
        await sleep(Math.max(0, next - performance.now()));
      }
      await waitAll(ids);
    };

    for (let i = 0; i < PROCS; i++) procs.push(new ClientProc());
    const connectAll = (url: string) =>
      Promise.all(procs.map((p, i) => p.ask({ cmd: 'connect', url, count: Math.floor(CLIENTS / PROCS) + (i < CLIENTS % PROCS ? 1 : 0) })));
    const reportAll = async () => merge((await Promise.all(procs.map((p) => p.ask({ cmd: 'report' })))) as Report[]);
    const resetAll = () => Promise.all(procs.map((p) => p.ask({ cmd: 'reset' })));

    const rows: Row[] = [];
    const schedules = new Map<number, Array<[number, string]>>();
    await connectAll(`ws://127.0.0.1:${daemon.port}/ws/events`);
    // Each server's first window warms the client processes (and the server)
    // up and is not counted: measured, the first of three daemon windows in a
    // row had p99 131 ms, the next two 71 and 64.
    await rollouts(RATES[0], WARMUP_SECONDS);
    const pid = daemon.proc.pid as number;
    for (const rate of RATES) {
      await sleep(1000);
      await resetAll();
      const from = rec.length;
      const cpu0 = threadCpuMicros(pid, pid);
      const proc0 = processCpuMicros(pid);
      const t0 = performance.now();
      await rollouts(rate);
      await sleep(300);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = threadCpuMicros(pid, pid) - cpu0;
      const cpuProc = processCpuMicros(pid) - proc0;
      const window = rec.slice(from);
      schedules.set(rate, window.map((e) => [e.at - t0, e.text]));
      rows.push(row('daemon', rate, window.length, elapsed, await reportAll(), cpu, cpuProc));
      console.log(JSON.stringify(rows.at(-1)));
    }
    await Promise.all(procs.map((p) => p.ask({ cmd: 'disconnect' })));

    // The same messages (sizes, moments) from a bare uWS server to the same client processes.
    baseline = spawn(process.execPath, [join(HERE, 'baselines/ws-publish.js')], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const bl = baseline;
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      bl.stdout!.on('data', (c) => {
        buf += c;
        const m = /"port":(\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      bl.once('exit', (code) => reject(new Error(`ws-publish exited (${code})`)));
    });
    const played: Array<(m: any) => void> = [];
    bl.on('message', (m) => played.shift()?.(m));
    const play = (schedule: Array<[number, string]>) =>
      new Promise((resolve) => {
        played.push(resolve);
        bl.send({ cmd: 'play', schedule });
      });
    await connectAll(`ws://127.0.0.1:${port}/ws/events`);
    await play((schedules.get(RATES[0]) as Array<[number, string]>).filter(([at]) => at < WARMUP_SECONDS * 1000));
    // Twice per rate: alone, and while the daemon runs the same rollouts (its
    // workers and the simulator on the same cores, its events to the recorder
    // only) — what the machine, not the fan-out, adds to the latency.
    for (const loaded of [false, true]) {
      for (const rate of RATES) {
        const schedule = schedules.get(rate) as Array<[number, string]>;
        await sleep(1000);
        await resetAll();
        const cpu0 = processCpuMicros(bl.pid as number);
        const t0 = performance.now();
        await Promise.all([play(schedule), loaded ? rollouts(rate) : null]);
        await sleep(300);
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = processCpuMicros(bl.pid as number) - cpu0;
        rows.push(row(loaded ? 'bare+load' : 'bare-uws', rate, schedule.length, elapsed, await reportAll(), cpu));
        console.log(JSON.stringify(rows.at(-1)));
      }
    }
    recWs.close();

    console.log(`\nWebSocket fan-out: ${CLIENTS} clients in ${PROCS} processes, ${SECONDS} s per rate, events from dry-run rollouts over ${HOSTS} simulated hosts`);
    console.log('server     rate  events/s  deliveries/s  delivered  p50  p99   max  µs CPU/delivery (front thread | process)  gaps dropped');
    for (const r of rows) {
      const cpu = r.cpu_us_per_delivery_process !== undefined ? `${r.cpu_us_per_delivery.toFixed(3)} | ${r.cpu_us_per_delivery_process.toFixed(3)}` : r.cpu_us_per_delivery.toFixed(3);
      console.log(
        `${r.server.padEnd(9)} ${String(r.rate).padStart(5)} ${String(r.events_per_s).padStart(9)} ${String(r.deliveries_per_s).padStart(13)} ${`${r.delivered_pct}%`.padStart(10)} ${String(r.p50_ms).padStart(4)} ${String(r.p99_ms).padStart(4)} ${String(r.max_ms).padStart(5)}  ${cpu.padEnd(41)} ${String(r.gaps).padStart(4)} ${String(r.dropped).padStart(7)}`,
      );
    }
    for (const rate of RATES) {
      const a = rows.find((r) => r.server === 'daemon' && r.rate === rate)!;
      const b = rows.find((r) => r.server === 'bare-uws' && r.rate === rate)!;
      const bl = rows.find((r) => r.server === 'bare+load' && r.rate === rate)!;
      const thr = a.deliveries_per_s / Math.max(1, b.deliveries_per_s);
      const cpu = a.cpu_us_per_delivery / Math.max(1e-9, b.cpu_us_per_delivery);
      console.log(
        `rate ${rate}: daemon/uWS throughput ${(100 * thr).toFixed(0)}% (target ≥ 80%), CPU per delivery ${cpu.toFixed(2)}× (front thread; target ≤ 1.25×), p99 ${a.p99_ms} ms${rate === 200 ? ' (target < 50 ms)' : ''}; bare uWS p99 ${b.p99_ms} ms alone, ${bl.p99_ms} ms beside the same rollouts`,
      );
    }
    console.log(JSON.stringify({ bench: 'ws-fanout', clients: CLIENTS, procs: PROCS, seconds: SECONDS, rows }));
  } finally {
    for (const p of procs) p.proc.kill();
    baseline?.kill();
    await d?.stop();
    await sim.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
