// What the cluster wrote to JetStream over a pass: per stream (the events
// stream and the KV buckets' streams), messages written (last sequence
// delta) and bytes held, read from the server by its own API. Grounds the
// sizing in docs/cluster.md (events and KV writes per host, bytes per event).
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

export type StreamStats = Map<string, { last_seq: number; bytes: number; messages: number }>;

export async function streamStats(url: string): Promise<StreamStats> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const out: StreamStats = new Map();
    for await (const s of jsm.streams.list()) out.set(s.config.name, { last_seq: s.state.last_seq, bytes: s.state.bytes, messages: s.state.messages });
    return out;
  } finally {
    await nc.close();
  }
}

/** Per stream: writes between two readings, per host, and the bytes per message it holds (a KV bucket keeps one per key). */
export function perHost(before: StreamStats, after: StreamStats, hosts: number): Record<string, { writes_per_host: number; bytes_per_message: number }> {
  const out: Record<string, { writes_per_host: number; bytes_per_message: number }> = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? { last_seq: 0, bytes: 0, messages: 0 };
    const writes = a.last_seq - b.last_seq;
    if (writes === 0) continue;
    out[name] = { writes_per_host: Math.round((writes / hosts) * 100) / 100, bytes_per_message: Math.round(a.bytes / Math.max(1, a.messages)) };
  }
  return out;
}
