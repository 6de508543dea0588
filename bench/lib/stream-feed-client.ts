// One client of the feed server, measured in its own process: `bare` (a `ws`
// client that only JSON.parses each message), `model` (the client library's
// FleetStream keeping the fleet model), or `top` (FleetStream + top's view
// model rendering frames, batched to ≤ 10/s, into a discarded screen).
// Reports CPU per event over the streaming window (after the snapshot) and
// the lag from the event's `ts` to when it was applied (bare: parsed; top:
// on screen).
import WebSocket from 'ws';
import { FleetStream } from '../../src/client/fleet-stream.js';
import { nodeSocket } from '../../src/client/node.js';
import { RedrawScheduler } from '../../src/cli/top/redraw.js';
import { Screen } from '../../src/cli/top/screen.js';
import { TopView } from '../../src/cli/top/top-view.js';

export type ClientKind = 'bare' | 'model' | 'top';

export interface ClientResult {
  kind: ClientKind;
  events: number;
  cpu_us: number;
  cpu_us_per_event: number;
  lag_p50_ms: number;
  lag_p99_ms: number;
  lag_max_ms: number;
  /** top only: event ts → the frame that shows it (bounded by the ≤ 10 frames/s batching). */
  screen_lag_p99_ms: number | null;
  snapshot_ms: number;
  frames: number;
}

/** Events in the first `warmupS` after the snapshot are not counted: the snapshot's garbage and JIT warm-up would land on them. */
export async function runClient(kind: ClientKind, url: string, seconds: number, warmupS = 1): Promise<ClientResult> {
  const lags: number[] = [];
  const screenLags: number[] = [];
  let events = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let snapshotAt = 0;
  let snapshotMs = 0;
  let frames = 0;
  const connectedAt = performance.now();
  let snapshotSeen = false;
  let windowAt = 0;
  const startWindow = () => {
    snapshotMs = performance.now() - connectedAt;
    snapshotAt = performance.now();
    snapshotSeen = true;
  };
  /** True once measuring (starts with the first event after the warm-up). */
  const measuring = () => {
    if (cpu0) return true;
    if (!snapshotSeen || performance.now() - snapshotAt < warmupS * 1000) return false;
    cpu0 = process.cpuUsage();
    windowAt = performance.now();
    return false; // this event is the boundary: counted from the next one
  };
  const windowDone = () => cpu0 !== null && performance.now() - windowAt >= seconds * 1000;
  let stop: () => void = () => {};
  const done = new Promise<void>((resolve) => (stop = resolve));

  if (kind === 'bare') {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws/events', { maxPayload: 512 * 1024 * 1024 });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; ts?: string };
      if (msg.type === 'Snapshot') return startWindow();
      if (!measuring() || !msg.ts) return;
      events++;
      lags.push(Date.now() - Date.parse(msg.ts));
      if (windowDone()) {
        ws.close();
        stop();
      }
    });
  } else {
    const stream = new FleetStream({ url, openSocket: nodeSocket() });
    stream.on('snapshot', () => {
      if (!snapshotSeen) startWindow();
    });
    let onScreen: string[] = [];
    let redraw: RedrawScheduler | null = null;
    if (kind === 'top') {
      const top = new TopView(stream.model, url);
      const screen = new Screen({ write: () => true });
      redraw = new RedrawScheduler(() => {
        screen.draw(top.frame({ width: 160, height: 48, stream: stream.state, ready: stream.ready }));
        frames++;
        const now = Date.now();
        for (const ts of onScreen) screenLags.push(now - Date.parse(ts));
        onScreen = [];
      });
      stream.on('events', (batch) => top.onEvents(batch));
    }
    stream.on('events', (batch) => {
      if (!measuring()) {
        onScreen = [];
        return;
      }
      events += batch.length;
      const now = Date.now();
      for (const e of batch) lags.push(now - Date.parse(e.ts));
      if (redraw) {
        for (const e of batch) onScreen.push(e.ts);
        redraw.request();
      }
      if (windowDone()) {
        redraw?.close();
        stream.close();
        stop();
      }
    });
    stream.start();
  }
  await done;
  const cpu = process.cpuUsage(cpu0 as unknown as NodeJS.CpuUsage);
  const cpuUs = cpu.user + cpu.system;
  lags.sort((a, b) => a - b);
  screenLags.sort((a, b) => a - b);
  const pct = (p: number, of = lags) => of[Math.min(of.length - 1, Math.floor((p / 100) * of.length))] ?? 0;
  return {
    kind,
    events,
    cpu_us: cpuUs,
    cpu_us_per_event: events ? cpuUs / events : 0,
    lag_p50_ms: pct(50),
    lag_p99_ms: pct(99),
    lag_max_ms: lags[lags.length - 1] ?? 0,
    screen_lag_p99_ms: kind === 'top' ? pct(99, screenLags) : null,
    snapshot_ms: snapshotMs,
    frames,
  };
}
