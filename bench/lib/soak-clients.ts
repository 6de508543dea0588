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

/** type and top-level seq from a message's first bytes (messages start with them): no full parse of a 5 MB snapshot. */
function peek(data: WebSocket.RawData): { type: string; seq: number | null } {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  const head = buf.subarray(0, HEAD).toString('utf8');
  const type = /"type":"(\w+)"/.exec(head)?.[1] ?? '';
  const seq = /"seq":(\d+)/.exec(head);
  return { type, seq: seq ? Number(seq[1]) : null };
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
        if (seq === null) return; // Pong, FilterChanged, Error
        if (type === 'Snapshot') {
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
