// A loopback WebSocket server speaking the daemon's /ws/events protocol to one
// client: the Snapshot of N hosts, then events at a steady rate — each host
// change is HostUpdated (the whole status) + HostStateChanged, like the
// broadcaster sends them, and every few an UpdateProgress — with consecutive
// seqs and `ts` stamped at send time (the daemon's broadcaster does the same).
// Answers pings with Pong. Run as a child process: it prints its port.
import { WebSocketServer, type WebSocket } from 'ws';
import type { HostState, HostStatus, StreamEvent } from '../../src/client/types.js';

const STATES: HostState[] = ['querying', 'pending_updates', 'updating', 'idle'];

export function hostStatus(i: number, state: HostState = 'idle'): HostStatus {
  const name = `sim-${String(i + 1).padStart(5, '0')}`;
  return {
    name,
    addr: `127.60.${(i >> 8) & 255}.${i & 255}`,
    state,
    tags: ['debian', 'sim', i % 3 === 0 ? 'db' : 'web'],
    groups: [i % 2 === 0 ? 'even' : 'odd'],
    pending_updates: 5,
    last_updated: null,
    error: null,
    failed: null,
    shard: i % 4,
    package_manager: 'apt',
    compose: false,
    job_id: state === 'idle' ? null : 'job-bench',
  };
}

export function startFeedServer(hosts: number, ratePerS: number): Promise<{ port: number; close(): void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const states = Array.from({ length: hosts }, () => 0);
  let seq = 0;
  wss.on('connection', (ws: WebSocket) => {
    const status = Array.from({ length: hosts }, (_, i) => hostStatus(i));
    ws.send(JSON.stringify({ type: 'Snapshot', seq, hosts: status }));
    ws.on('message', (m) => {
      if (String(m).includes('"ping"')) ws.send('{"type":"Pong"}');
    });
    let owed = 0;
    let next = 0;
    const started = performance.now();
    let sent = 0;
    const tick = setInterval(() => {
      // Catch up to the wall clock: the rate holds even when a tick is late.
      owed = ((performance.now() - started) / 1000) * ratePerS - sent;
      while (owed >= 1) {
        const i = next++ % hosts;
        const from = STATES[(states[i] + STATES.length - 1) % STATES.length];
        const to = STATES[states[i]];
        states[i] = (states[i] + 1) % STATES.length;
        const ts = new Date().toISOString();
        const events: StreamEvent[] = [
          { type: 'HostUpdated', seq: ++seq, ts, host: hostStatus(i).name, status: hostStatus(i, to) },
          { type: 'HostStateChanged', seq: ++seq, ts, host: hostStatus(i).name, from, to },
        ];
        if (to === 'updating') events.push({ type: 'UpdateProgress', seq: ++seq, ts, host: hostStatus(i).name, package: 'openssl', progress: 'Unpacking openssl (3.0.15-1~deb12u1)' });
        for (const e of events) ws.send(JSON.stringify(e));
        sent += events.length;
        owed -= events.length;
      }
    }, 5);
    ws.on('close', () => clearInterval(tick));
  });
  return new Promise((resolve) => {
    wss.on('listening', () => resolve({ port: (wss.address() as { port: number }).port, close: () => wss.close() }));
  });
}
