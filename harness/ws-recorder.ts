// One /ws/events client of a daemon that keeps every message it gets, from
// its first (Snapshot or Resync) on: what the stream tests compare.
import WebSocket from 'ws';
import { until, type Daemon } from './daemon.js';

export interface WsRecorder {
  all: any[];
  ws: WebSocket;
  close(): void;
}

export async function recordEvents(d: Daemon, query = '', firstWithinMs = 10_000): Promise<WsRecorder> {
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events${query}`);
  const all: any[] = [];
  ws.on('message', (m) => all.push(JSON.parse(String(m))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => all.length > 0, firstWithinMs);
  return { all, ws, close: () => ws.close() };
}
