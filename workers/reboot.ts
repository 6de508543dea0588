// Reboot a host and wait for it to come back: send the reboot command, expect
// the connection to drop, then reconnect with backoff until the deadline. The
// host counts as back only after it was seen down (dropped connection or a
// failed reconnect) and then answered again; verification (new boot id,
// health, no reboot still required) is the caller's next step.
import { TendhostError, asTendhostError } from '../common/errors.js';
import type { Executor } from './exec/types.js';
import { CMD } from './pkg/commands.js';

export interface RebootOptions {
  deadlineMs: number;
  /** First retry delay; doubles up to 8× this, so a long outage is not hammered. */
  pollMs: number;
  host: string;
  /**
   * The boot id read before the reboot. An answer with another boot id proves
   * the reboot even if no poll caught the host down (`systemctl reboot`
   * returns at once, and a fast VM is back between two polls).
   */
  bootIdBefore?: string | null;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const ANSWERED_BUT_REFUSED: ReadonlySet<string> = new Set([
  'SSH_HOST_KEY_MISMATCH',
  'SSH_HOST_KEY_UNKNOWN',
  'SSH_AUTH_FAILED',
  'SSH_KEY_INVALID',
  'SSH_NO_KEY',
]);

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function rebootAndWait(exec: Executor, opts: RebootOptions): Promise<void> {
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.deadlineMs;
  let sawDown = false;

  try {
    const r = await exec.run(CMD.reboot, { timeoutMs: 30_000, root: true });
    // A reboot that returns at all usually lost the race with the shutdown; a
    // non-zero exit with an error message means it was refused.
    if (r.exitCode !== 0 && r.exitCode !== null && r.stderr.trim() && !r.timedOut) {
      throw new TendhostError('PKG_COMMAND_FAILED', `reboot command failed on ${opts.host}: ${r.stderr.trim().split('\n').pop()}`);
    }
  } catch (err) {
    const e = asTendhostError(err);
    if (e.code === 'PKG_COMMAND_FAILED' || e.code === 'SUDO_PASSWORD_REQUIRED') throw e;
    sawDown = true; // the connection dropped under the command: the host is going down
  }
  exec.disconnect('reboot');

  let delay = opts.pollMs;
  while (now() < deadline) {
    await sleep(Math.min(delay, Math.max(0, deadline - now())));
    try {
      const r = await exec.run(CMD.bootId, { timeoutMs: Math.max(1000, Math.min(30_000, deadline - now())) });
      const rebooted = !!opts.bootIdBefore && r.stdout.trim() !== '' && r.stdout.trim() !== opts.bootIdBefore;
      if (r.exitCode === 0 && (sawDown || rebooted)) return;
      // Still answering from before the reboot took effect: drop and look again.
      exec.disconnect('waiting for reboot');
    } catch (err) {
      // A host that answers with another key or refuses our key is up: that is
      // its failure (quarantine, auth), not "did not come back".
      const e = asTendhostError(err);
      if (ANSWERED_BUT_REFUSED.has(e.code)) throw e;
      sawDown = true;
    }
    delay = Math.min(delay * 2, opts.pollMs * 8);
  }
  throw new TendhostError(
    'REBOOT_TIMEOUT',
    sawDown
      ? `host ${opts.host} did not come back within ${Math.round(opts.deadlineMs / 1000)}s of the reboot`
      : `host ${opts.host} never went down after the reboot command (${Math.round(opts.deadlineMs / 1000)}s)`,
  );
}
