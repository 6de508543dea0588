// One socket write per event-loop turn on a node's NATS connection. nats.js
// flushes its outbound buffer at the end of every microtask checkpoint, i.e.
// once per I/O callback: each worker message, each chunk read from NATS, each
// HTTP request that publishes something costs its own write(2) to
// nats-server. Under a fleet query that was the largest single item of a
// node's front thread (bench/cluster at 3 × 1,000, profiled: 11–16 % in
// `writeBuffer`). Deferring the flush to `setImmediate` gathers everything
// the callbacks of one poll phase queued into one write, at the cost of the
// rest of that phase in latency.
//
// This reaches into the connection's protocol handler (`flushPending` and
// `close` of @nats-io/nats-core 3.x's ProtocolHandler, which the connection
// keeps across reconnects). When a later version has no such methods the
// library's own flushing stays, and `coalescedWrites` says so.
import type { NatsConnection } from '@nats-io/transport-node';

interface ProtocolHandler {
  flushPending(): void;
  close(err?: Error): Promise<void>;
}

function protocolOf(nc: NatsConnection): ProtocolHandler | null {
  const p = (nc as unknown as { protocol?: Partial<ProtocolHandler> }).protocol;
  return p && typeof p.flushPending === 'function' && typeof p.close === 'function' ? (p as ProtocolHandler) : null;
}

/** Make `nc` write at most once per event-loop turn; false when the library does not allow it (then nothing changes). */
export function coalesceWrites(nc: NatsConnection): boolean {
  const protocol = protocolOf(nc);
  if (!protocol) return false;
  const flushNow = protocol.flushPending.bind(protocol);
  const close = protocol.close.bind(protocol);
  let scheduled = false;
  protocol.flushPending = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flushNow();
    });
  };
  // close() does not flush: what was queued in this turn goes out first, as it did before.
  protocol.close = (err?: Error) => {
    flushNow();
    return close(err);
  };
  return true;
}
