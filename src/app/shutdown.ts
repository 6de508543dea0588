// A graceful stop, in the order that loses nothing: stop accepting, let
// in-flight requests finish, close the stream, halt rollouts, give running
// operations the grace period, audit what the stop interrupted, then close
// the state store and the audit log (both flush).
import type { Config } from '../../common/config-types.js';
import type { RunningServer } from '../http/uws.js';
import type { Recovery } from './recovery.js';

export interface StopParts {
  timers: Array<{ stop(): void }>;
  server: Pick<RunningServer, 'stopListening' | 'inFlight' | 'closeAll'>;
  stream: { stop(): void };
  fleet: { halt(reason: string): void };
  pool: { close(graceMs: number): Promise<void> };
  recovery: Pick<Recovery, 'auditShutdown'>;
  closeLast: Array<{ close(): Promise<void> | void } | null>;
}

export async function stopInOrder(daemon: Config['daemon'], p: StopParts): Promise<void> {
  for (const t of p.timers) t.stop();
  p.server.stopListening();
  const deadline = Date.now() + daemon.http.shutdown_timeout_ms;
  while (p.server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  p.stream.stop();
  p.server.closeAll();
  // Rollouts start no more hosts; what runs gets the grace period.
  const stopAt = Date.now();
  p.fleet.halt('daemon stopped');
  await p.pool.close(daemon.shutdown_grace_ms);
  // The shards' last statuses (interrupted operations) arrive on their ports; let them land.
  await new Promise((r) => setImmediate(r));
  p.recovery.auditShutdown(stopAt);
  for (const c of p.closeLast) await c?.close();
}
