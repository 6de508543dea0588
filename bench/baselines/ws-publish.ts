// Ceiling baseline for bench/ws-fanout.ts: a bare uWS.js server whose
// WebSocket clients all subscribe to one topic, publishing a schedule of
// messages handed to it over IPC — the daemon's own events of the same run at
// the moments they arrived, each stamped afresh with `seq` and `ts` at publish
// time (the same bytes for the clients to read, so a difference is the
// server's). Messages due in the same millisecond go out in the same loop
// turn, as the daemon's broadcaster publishes one port batch.
//   IPC in:  {cmd:'play', schedule: Array<[offset_ms, event JSON]>}  → {ok:'played', published}
// Usage: node dist/bench/baselines/ws-publish.js  (forked; prints {"msg":"listening","port":N})
import { assertNativeUws, uWS } from '../lib/uws-native.js';

assertNativeUws();
let seq = 0;
const app = uWS.App().ws('/ws/events', {
  idleTimeout: 120,
  maxBackpressure: 8 * 1024 * 1024,
  open: (ws) => {
    ws.send(`{"type":"Snapshot","seq":${seq},"ts":"${new Date().toISOString()}","hosts":[]}`);
    ws.subscribe('events');
  },
});

/** The recorded event with this server's `seq` and `ts` (the daemon ends every event with them). */
function message(recorded: string): string {
  const at = recorded.lastIndexOf('"seq":');
  const head = at >= 0 ? recorded.slice(0, at) : '{';
  return `${head}"seq":${++seq},"ts":"${new Date().toISOString()}"}`;
}

function play(schedule: Array<[number, string]>): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let i = 0;
    const tick = () => {
      const now = performance.now() - t0;
      while (i < schedule.length && schedule[i][0] <= now) app.publish('events', message(schedule[i++][1]), false);
      if (i >= schedule.length) return resolve(i);
      setTimeout(tick, Math.max(0, Math.min(5, schedule[i][0] - now)));
    };
    tick();
  });
}

process.on('message', async (m: { cmd: string; schedule?: Array<[number, string]> }) => {
  if (m.cmd === 'play') process.send?.({ ok: 'played', published: await play(m.schedule ?? []) });
});

app.listen('127.0.0.1', 0, (s) => {
  if (!s) {
    console.error('ws-publish: listen failed');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: uWS.us_socket_local_port(s), pid: process.pid })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
