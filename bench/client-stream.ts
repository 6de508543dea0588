// The event-stream client and `tendhost top` under load: 10,000 hosts, events
// at 200 and 1,000 per second from a loopback WebSocket server speaking the
// daemon's /ws/events protocol (bench/lib/stream-feed-server.ts: Snapshot,
// then HostUpdated + HostStateChanged per change, UpdateProgress, consecutive
// seqs, `ts` stamped at send). In the same run, each rate is read by three
// clients, one at a time, each in its own process (so its CPU is its own):
//   bare   a `ws` client that only JSON.parses every message (the floor)
//   model  the client library's FleetStream keeping the fleet model
//   top    FleetStream + top's view model drawing frames (≤ 10/s) to a discarded screen
//
//   npx tsc && node dist/bench/client-stream.js
//   CLIENT_STREAM_HOSTS=10000 CLIENT_STREAM_RATES=200,1000 CLIENT_STREAM_SECONDS=10 node dist/bench/client-stream.js
//
// Reported per rate and client: events read, CPU µs per event (process
// user+system over the streaming window: the snapshot and a warm-up second
// after it excluded, CLIENT_STREAM_WARMUP_S), lag from the
// event's `ts` to the model having applied it (p50/p99/max), for top also to
// the frame showing it. Goals: model and top ≤ 2× the bare parse's CPU per
// event, model lag p99 < 100 ms.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { envNumber } from './lib/bench-env.js';
import { startFeedServer } from './lib/stream-feed-server.js';
import { runClient, type ClientKind, type ClientResult } from './lib/stream-feed-client.js';

const SELF = fileURLToPath(import.meta.url);
const HOSTS = envNumber('CLIENT_STREAM_HOSTS', 10_000);
const SECONDS = envNumber('CLIENT_STREAM_SECONDS', 10);
const RATES = (process.env.CLIENT_STREAM_RATES ?? '200,1000').split(',').map(Number).filter((n) => n > 0);
const KINDS: ClientKind[] = ['bare', 'model', 'top'];
const WARMUP_S = envNumber('CLIENT_STREAM_WARMUP_S', 1);

type Message = { port: number } | { result: ClientResult };

function child(args: string[]): { proc: ReturnType<typeof fork>; next: () => Promise<Message> } {
  const proc = fork(SELF, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Message[] = [];
  let waiting: ((m: Message) => void) | null = null;
  proc.on('message', (m: Message) => (waiting ? (waiting(m), (waiting = null)) : queue.push(m)));
  const next = () =>
    new Promise<Message>((resolve, reject) => {
      const m = queue.shift();
      if (m) return resolve(m);
      waiting = resolve;
      proc.once('exit', (code) => reject(new Error(`child ${args[0]} exited ${code} before answering`)));
    });
  return { proc, next };
}

async function main(): Promise<void> {
  console.log(`client-stream: ${HOSTS} hosts, ${SECONDS} s per client, rates ${RATES.join(', ')} events/s, clients ${KINDS.join(', ')} (each its own process, one at a time)`);
  const rows: Array<ClientResult & { rate: number }> = [];
  for (const rate of RATES) {
    for (const kind of KINDS) {
      // A fresh server per client: every client gets the same snapshot and the same event sequence.
      const server = child(['--server', String(HOSTS), String(rate)]);
      const { port } = (await server.next()) as { port: number };
      const client = child(['--client', kind, `http://127.0.0.1:${port}`, String(SECONDS), String(WARMUP_S)]);
      const { result } = (await client.next()) as { result: ClientResult };
      server.proc.kill();
      client.proc.kill();
      rows.push({ ...result, rate });
      console.log(
        `  ${String(rate).padStart(5)}/s ${kind.padEnd(5)}  ${String(result.events).padStart(6)} events  ${result.cpu_us_per_event.toFixed(1).padStart(6)} µs CPU/event  lag p50 ${result.lag_p50_ms} ms p99 ${result.lag_p99_ms} ms max ${result.lag_max_ms} ms` +
          (result.screen_lag_p99_ms !== null ? `  on screen p99 ${result.screen_lag_p99_ms} ms (${result.frames} frames)` : '') +
          `  snapshot ${result.snapshot_ms.toFixed(0)} ms`,
      );
    }
  }
  console.log('\nsummary (goal beside each figure):');
  let ok = true;
  for (const rate of RATES) {
    const bare = rows.find((r) => r.rate === rate && r.kind === 'bare') as ClientResult;
    for (const kind of ['model', 'top'] as const) {
      const r = rows.find((x) => x.rate === rate && x.kind === kind) as ClientResult;
      const ratio = r.cpu_us_per_event / bare.cpu_us_per_event;
      const cpuOk = ratio <= 2;
      const lagOk = r.lag_p99_ms < 100;
      ok &&= cpuOk && lagOk;
      console.log(
        `  ${String(rate).padStart(5)}/s ${kind.padEnd(5)}  CPU/event ${ratio.toFixed(2)}× bare (goal ≤ 2×) ${cpuOk ? 'ok' : 'MISSED'}   model lag p99 ${r.lag_p99_ms} ms (goal < 100 ms) ${lagOk ? 'ok' : 'MISSED'}`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'client-stream', hosts: HOSTS, seconds: SECONDS, results: rows, goals_met: ok }));
}

const [role, ...args] = process.argv.slice(2);
if (role === '--server') {
  const server = await startFeedServer(Number(args[0]), Number(args[1]));
  process.send?.({ port: server.port });
  process.on('disconnect', () => process.exit(0));
} else if (role === '--client') {
  const result = await runClient(args[0] as ClientKind, args[1], Number(args[2]), Number(args[3]));
  process.send?.({ result });
  process.disconnect?.();
} else await main();
