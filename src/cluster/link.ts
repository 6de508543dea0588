// Whether this node's NATS connection is up right now, from the client's
// status events: commands are refused at once while it is down (rather than
// waiting on a request that cannot be answered), and /health can say so.
import type { NatsConnection } from '@nats-io/transport-node';

export interface Link {
  connected(): boolean;
  /** When the connection last went up or down (ms since the epoch). */
  changedAt(): number;
}

export function trackLink(nc: NatsConnection): Link {
  let up = !nc.isClosed();
  let changedAt = Date.now();
  const set = (v: boolean) => {
    if (v !== up) changedAt = Date.now();
    up = v;
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'close') set(false);
      else if (s.type === 'reconnect') set(true);
    }
  })().catch(() => set(false));
  void nc.closed().then(() => set(false));
  return { connected: () => up && !nc.isClosed(), changedAt: () => changedAt };
}
