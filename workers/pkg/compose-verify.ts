// After `up -d`: every updated service's containers must run the image just
// pulled and be running — healthy, where the service has a healthcheck — on
// two looks a second apart (a container that exits at once can still read
// "running" on the first). A container that exited, died or turned unhealthy
// fails the host with COMPOSE_SERVICE_FAILED naming the service and its last
// log lines; one still starting when the time is up fails the same way.
import { setTimeout as sleep } from 'node:timers/promises';
import { TendhostError } from '../../common/errors.js';
import type { Executor } from '../exec/types.js';
import { CMD } from './commands.js';
import { containerIds, parseContainerStates, type ContainerState } from './compose-services.js';
import type { DriverContext } from './driver.js';
import { runChecked } from './run.js';

export interface VerifySpec {
  dir: string;
  psCommand: string;
  /** Service → the image id its containers must run. */
  expected: ReadonlyMap<string, string>;
  /** How long containers may take to become running/healthy (default: min(command timeout, 120 s)). */
  waitMs?: number;
  pollMs?: number;
}

const LOG_LINES = 20;

export async function verifyServices(exec: Executor, ctx: DriverContext, spec: VerifySpec): Promise<void> {
  const deadline = Date.now() + (spec.waitMs ?? Math.min(ctx.timeoutMs, 120_000));
  const pollMs = spec.pollMs ?? 1000;
  let goodLooks = 0;
  for (;;) {
    const states = await look(exec, ctx, spec);
    const bad = states.find((s) => s.status === 'exited' || s.status === 'dead' || s.health === 'unhealthy');
    if (bad) throw await failure(exec, ctx, spec.dir, bad, bad.health === 'unhealthy' ? 'is unhealthy' : `${bad.status}`);
    const waiting = states.find((s) => s.status !== 'running' || (s.health !== null && s.health !== 'healthy'));
    const stale = states.find((s) => s.image !== spec.expected.get(s.service));
    const missing = [...spec.expected.keys()].find((svc) => !states.some((s) => s.service === svc));
    if (!waiting && !stale && !missing) {
      if (++goodLooks >= 2) return;
    } else goodLooks = 0;
    if (Date.now() >= deadline) {
      if (missing) throw new TendhostError('COMPOSE_SERVICE_FAILED', `service ${missing} in ${spec.dir} has no container after up -d`, { path: spec.dir, service: missing });
      const s = (stale ?? waiting)!;
      const why = stale ? `still runs image ${s.image}, not ${spec.expected.get(s.service)}` : `is ${s.health ?? s.status}`;
      throw await failure(exec, ctx, spec.dir, s, `${why} after ${Math.round((spec.waitMs ?? Math.min(ctx.timeoutMs, 120_000)) / 1000)} s`);
    }
    await sleep(pollMs);
  }
}

/** The containers of the services being checked. */
async function look(exec: Executor, ctx: DriverContext, spec: VerifySpec): Promise<ContainerState[]> {
  const ps = await runChecked(exec, spec.psCommand, ctx, { parseCritical: true });
  const ids = containerIds(ps.stdout);
  if (ids.length === 0) return [];
  const r = await runChecked(exec, CMD.containerStates(ids), ctx, { parseCritical: true });
  return parseContainerStates(r.stdout).filter((s) => spec.expected.has(s.service));
}

async function failure(exec: Executor, ctx: DriverContext, dir: string, s: ContainerState, why: string): Promise<TendhostError> {
  const logs = await exec.run(CMD.containerLogs(s.id, LOG_LINES), { timeoutMs: Math.min(ctx.timeoutMs, 30_000), maxOutputBytes: 64 * 1024 });
  const lines = logs.stdout.trim().split('\n').filter(Boolean).slice(-LOG_LINES);
  const tail = lines.slice(-5).join(' | ').slice(0, 1000);
  return new TendhostError(
    'COMPOSE_SERVICE_FAILED',
    `service ${s.service} in ${dir}: container ${s.id.slice(0, 12)} ${why}${tail ? `; last log lines: ${tail}` : ''}`,
    { path: dir, service: s.service, container: s.id, status: s.status, health: s.health, logs: lines },
  );
}
