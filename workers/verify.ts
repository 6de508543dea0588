// What "the host came back well" means after a reboot, apart from the rest of
// a host's operations: a new boot id, a readable /proc/uptime, the host's own
// verify_command, and no package manager still asking for a reboot.
import { TendhostError } from '../common/errors.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import type { Executor } from './exec/types.js';
import { CMD } from './pkg/commands.js';
import type { DriverContext, PackageDriver } from './pkg/driver.js';

export async function readBootId(exec: Executor, timeoutMs: number): Promise<string> {
  const r = await exec.run(CMD.bootId, { timeoutMs });
  const id = r.stdout.trim();
  if (r.exitCode !== 0 || !id) throw new TendhostError('VERIFY_FAILED', `cannot read boot id: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return id;
}

/** Throws VERIFY_FAILED saying what is wrong; `bootIdBefore` is null when the reboot was not ours to see. */
export async function verifyAfterReboot(
  exec: Executor,
  ctx: DriverContext,
  host: ResolvedHost,
  drivers: readonly PackageDriver[],
  bootIdBefore: string | null,
): Promise<void> {
  const now = await readBootId(exec, 30_000);
  if (bootIdBefore && now === bootIdBefore) {
    throw new TendhostError('VERIFY_FAILED', `host ${host.name} came back without a new boot id (still ${now})`);
  }
  const health = await exec.run(CMD.health, { timeoutMs: 30_000 });
  if (health.exitCode !== 0 || !/^\d+(\.\d+)?\s/.test(health.stdout)) {
    throw new TendhostError('VERIFY_FAILED', `cannot read /proc/uptime after reboot: ${health.stderr.trim() || `exit ${health.exitCode}`}`);
  }
  const check = host.policy.verify_command ?? null;
  if (check) {
    const r = await exec.run(check, { timeoutMs: ctx.timeoutMs, maxOutputBytes: 64 * 1024 });
    if (r.exitCode !== 0 || r.timedOut) {
      const out = tail(`${r.stdout}\n${r.stderr}`);
      throw new TendhostError('VERIFY_FAILED', `verify_command ${r.timedOut ? 'timed out' : `exited ${r.exitCode}`} after reboot${out ? `: ${out}` : ''}`);
    }
  }
  for (const driver of drivers) {
    const rr = await driver.rebootRequired(exec, ctx);
    if (rr.required) {
      throw new TendhostError('VERIFY_FAILED', `a reboot is still required after rebooting (${rr.packages.join(', ') || 'flag set'})`);
    }
  }
}

/** The last lines of a command's output, for an error message. */
function tail(text: string, lines = 5): string {
  return text.trim().split('\n').filter(Boolean).slice(-lines).join(' | ').slice(0, 1000);
}
