// One client process of the WebSocket fan-out benchmark (bench/ws-fanout.ts
// forks a few, so the client side is not one thread). Driven over IPC:
//   {cmd:'connect', url, count}  → {ok:'connected', count}
//   {cmd:'reset'}                → counters to zero; the measurement window starts
//   {cmd:'report'}               → {ok:'report', deliveries, bytes, hist, gaps, closed}
//   {cmd:'disconnect'}           → closes every client → {ok:'disconnected'}
//   {cmd:'close'}                → closes every client and exits
// Latency per message = this process's clock − the message's `ts` (same
// machine, same clock), in whole milliseconds (ts has ms resolution).
import WebSocket from 'ws';

interface Counters {
  deliveries: number;
  bytes: number;
  /** hist[ms] = messages that took ms milliseconds; the last bucket holds the rest. */
  hist: number[];
  /** Messages whose seq was not the previous one + 1 (per client). */
  gaps: number;
}

const HIST_MS = 2000;
const clients: WebSocket[] = [];
const lastSeq = new Map<WebSocket, number>();
let closed = 0;
let c: Counters = fresh();

function fresh(): Counters {
  return { deliveries: 0, bytes: 0, hist: new Array(HIST_MS + 1).fill(0), gaps: 0 };
}

/** `"ts":"…"` and `"seq":N` without parsing the whole message. */
const SNAPSHOT = Buffer.from('{"type":"Snapshot"');
function onMessage(ws: WebSocket, data: Buffer): void {
  const now = Date.now();
  const i = data.indexOf('"ts":"');
  if (i < 0) return;
  if (data.subarray(0, SNAPSHOT.length).equals(SNAPSHOT)) {
    lastSeq.set(ws, Number(/"seq":(\d+)/.exec(data.toString('latin1', 0, 64))?.[1] ?? 0));
    return;
  }
  const ts = Date.parse(data.toString('latin1', i + 6, i + 30));
  const lat = Math.max(0, now - ts);
  c.hist[Math.min(lat, HIST_MS)]++;
  c.deliveries++;
  c.bytes += data.length;
  const s = data.indexOf('"seq":');
  if (s >= 0) {
    const seq = parseInt(data.toString('latin1', s + 6, s + 20), 10);
    const prev = lastSeq.get(ws);
    if (prev !== undefined && prev !== 0 && seq !== prev + 1) c.gaps++;
    lastSeq.set(ws, seq);
  }
}

async function connect(url: string, count: number): Promise<void> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      ws.on('message', (d: Buffer) => onMessage(ws, d));
      ws.once('open', () => {
        clients.push(ws);
        resolve();
      });
      ws.once('error', reject);
      ws.on('close', () => {
        if (clients.includes(ws)) closed++;
      });
    });
  // 50 handshakes at a time: the server's accept queue and our event loop stay sane.
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, one));
  }
}

process.on('message', async (m: { cmd: string; url?: string; count?: number }) => {
  switch (m.cmd) {
    case 'connect':
      await connect(m.url as string, m.count as number);
      process.send?.({ ok: 'connected', count: clients.length });
      break;
    case 'reset':
      c = fresh();
      process.send?.({ ok: 'reset' });
      break;
    case 'report':
      process.send?.({ ok: 'report', ...c, closed });
      break;
    case 'disconnect':
      for (const ws of clients.splice(0)) ws.terminate();
      lastSeq.clear();
      closed = 0;
      process.send?.({ ok: 'disconnected' });
      break;
    case 'close':
      for (const ws of clients) ws.terminate();
      process.exit(0);
      break;
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
});
