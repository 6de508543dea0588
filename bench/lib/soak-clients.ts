// WebSocket clients of a soak, on the real client library (FleetStream over
// `ws`): they join, filter, lose their connection (the socket is cut, so the
// stream resumes with ?since=) and leave. Every message's seq is read off the
// wire, under the library, so a gap or a duplicate the daemon sends is counted
// even though the library would hide it by resyncing.
import type WebSocket from 'ws';
import { FleetStream } from '../../src/client/fleet-stream.js';
import { nodeSocket } from '../../src/client/node.js';
import type { StreamFilter } from '../../src/client/types.js';

/** What the wire showed one client, over all its connections. */
export interface ClientTally {
  id: number;
  filtered: boolean;
  connections: number;
  resumes: number;
  resyncs: number;
  events: number;
  gaps: number;
  duplicates: number;
  /** The first few gaps/duplicates: "expected 105 got 107". */
  problems: string[];
}

export interface SoakClient {
  tally: ClientTally;
  stream: FleetStream;
  /** Cut the TCP connection without a close frame, as a network drop does. */
  drop(): void;
}

const HEAD = 300;
/** Messages that carry the daemon's current seq but are not events. */
const NOT_EVENTS = new Set(['Pong', 'FilterChanged', 'Error', 'Resync']);

/**
 * type and top-level seq of a message. A snapshot (megabytes at 10,000 hosts)
 * is not parsed: its seq is read off its first or last bytes; events are
 * small and parsed whole, since a host's status may come before the seq.
 */
function peek(data: WebSocket.RawData): { type: string; seq: number | null } {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  const head = buf.subarray(0, HEAD).toString('utf8');
  const type = /^\{"type":"(\w+)"/.exec(head)?.[1] ?? '';
  if (type === 'Snapshot') {
    const m = /"seq":(\d+)/.exec(head) ?? /"seq":(\d+)[,}]*$/.exec(buf.subarray(-HEAD).toString('utf8'));
    return { type, seq: m ? Number(m[1]) : null };
  }
  const msg = JSON.parse(buf.toString('utf8')) as { type?: unknown; seq?: unknown };
  return { type: String(msg.type), seq: typeof msg.seq === 'number' ? msg.seq : null };
}

export function startClient(url: string, id: number, filter?: StreamFilter): SoakClient {
  const tally: ClientTally = { id, filtered: !!filter, connections: 0, resumes: 0, resyncs: 0, events: 0, gaps: 0, duplicates: 0, problems: [] };
  const open = nodeSocket();
  let current: WebSocket | null = null;
  const note = (p: string) => {
    if (tally.problems.length < 5) tally.problems.push(p);
  };
  const stream = new FleetStream({
    url,
    filter,
    minBackoffMs: 50,
    maxBackoffMs: 1000,
    openSocket: (wsUrl, token) => {
      const socket = open(wsUrl, token);
      const ws = socket as unknown as WebSocket;
      current = ws;
      tally.connections++;
      const since = new URL(wsUrl).searchParams.get('since');
      if (since !== null) tally.resumes++;
      // The next event must be since + 1 (unfiltered) or at least above since (filtered).
      let last: number | null = since === null ? null : Number(since);
      let exact = !filter;
      ws.on('message', (data) => {
        const { type, seq } = peek(data);
        if (type === 'Resync') {
          tally.resyncs++;
          last = null;
          return;
        }
        if (NOT_EVENTS.has(type)) return;
        if (seq === null) return note(`a ${type} message without a seq`);
        if (type === 'Snapshot') {
          if (seq === null) return note('a snapshot whose seq was not found');
          last = seq;
          return;
        }
        tally.events++;
        if (last === null) return note(`event ${seq} before any snapshot`);
        if (seq <= last) {
          tally.duplicates++;
          note(`after ${last} got ${seq} again (${type})`);
        } else if (exact && seq !== last + 1) {
          tally.gaps++;
          note(`after ${last} got ${seq} (${type})`);
        }
        last = Math.max(last, seq);
      });
      // A filter change is answered by a snapshot of the new subset; seqs jump meanwhile.
      ws.on('close', () => {
        if (current === ws) current = null;
        exact = !filter;
      });
      return socket;
    },
  });
  stream.start();
  return {
    tally,
    stream,
    drop: () => current?.terminate(),
  };
}
