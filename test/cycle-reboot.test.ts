// The reboot-and-wait step on its own, with a scripted executor and a virtual
// clock: what counts as "came back", the deadline, the backoff, and a reboot
// the host refuses.
import t from 'tap';
import { TendhostError } from '../common/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../workers/exec/types.js';
import { CMD } from '../workers/pkg/commands.js';
import { rebootAndWait } from '../workers/reboot.js';

const OLD = '0b6c8d63-0f3a-4a4c-9a55-1a1f6a1c0001';
const NEW = '7d1e4f02-5c7b-4e8e-8d0e-2b2f7b2d0002';

function result(stdout: string, exitCode = 0, stderr = ''): ExecResult {
  return { exitCode, signal: null, stdout, stderr, durationMs: 1, truncated: false, timedOut: false };
}

/** A host on a virtual clock: `answer(command, now)` returns its result or throws. */
function scripted(answer: (command: string, at: number) => ExecResult) {
  let clock = 0;
  const calls: { command: string; at: number }[] = [];
  const disconnects: string[] = [];
  const exec: Executor = {
    async run(command: string, _opts: ExecOptions) {
      calls.push({ command, at: clock });
      return answer(command, clock);
    },
    disconnect: (reason) => void disconnects.push(reason),
    close: async () => {},
  };
  return {
    exec,
    calls,
    disconnects,
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
    },
  };
}

const refused = () => new TendhostError('SSH_CONNECTION_REFUSED', 'connect ECONNREFUSED');

t.test('systemctl reboot returns at once and the host is back between two polls: the new boot id proves the reboot', async (t) => {
  // Answers with the old boot id until t=1500, is back with a new one from t=1500: never seen down.
  const h = scripted((cmd, at) => {
    if (cmd === CMD.reboot) return result('');
    if (cmd === CMD.bootId) return result((at < 1500 ? OLD : NEW) + '\n');
    throw new Error(`unexpected ${cmd}`);
  });
  await rebootAndWait(h.exec, { deadlineMs: 60_000, pollMs: 500, host: 'web1', bootIdBefore: OLD, now: h.now, sleep: h.sleep });
  t.same(
    h.calls.map((c) => `${c.at}:${c.command === CMD.reboot ? 'reboot' : 'boot_id'}`),
    ['0:reboot', '500:boot_id', '1500:boot_id'],
    'polls back off 500 → 1000 ms and stop at the new boot id',
  );
  t.same(h.disconnects, ['reboot', 'waiting for reboot'], 'drops the pre-reboot session before looking again');
});

t.test('a host that keeps answering with the old boot id is not taken as rebooted', async (t) => {
  const h = scripted((cmd) => (cmd === CMD.reboot ? result('') : result(OLD + '\n')));
  await t.rejects(
    rebootAndWait(h.exec, { deadlineMs: 10_000, pollMs: 500, host: 'web1', bootIdBefore: OLD, now: h.now, sleep: h.sleep }),
    { code: 'REBOOT_TIMEOUT', message: 'host web1 never went down after the reboot command (10s)' },
  );
  const polls = h.calls.filter((c) => c.command === CMD.bootId).map((c) => c.at);
  t.same(polls, [500, 1500, 3500, 7500, 10_000], 'the backoff doubles; the last look is cut to the deadline');
});

t.test('connection dropped by the reboot, refused while down, then answers: back', async (t) => {
  const h = scripted((cmd, at) => {
    if (cmd === CMD.reboot) throw new TendhostError('SSH_DISCONNECTED', 'connection lost');
    if (at < 2000) throw refused();
    return result(NEW + '\n');
  });
  await rebootAndWait(h.exec, { deadlineMs: 30_000, pollMs: 250, host: 'db1', bootIdBefore: OLD, now: h.now, sleep: h.sleep });
  t.same(
    h.calls.filter((c) => c.command === CMD.bootId).map((c) => c.at),
    [250, 750, 1750, 3750],
  );
});

t.test('never comes back: REBOOT_TIMEOUT at the deadline, with a bounded number of attempts', async (t) => {
  const h = scripted((cmd) => {
    if (cmd === CMD.reboot) throw new TendhostError('SSH_DISCONNECTED', 'connection lost');
    throw refused();
  });
  await t.rejects(
    rebootAndWait(h.exec, { deadlineMs: 600_000, pollMs: 5_000, host: 'db1', bootIdBefore: OLD, now: h.now, sleep: h.sleep }),
    { code: 'REBOOT_TIMEOUT', message: 'host db1 did not come back within 600s of the reboot' },
  );
  const polls = h.calls.filter((c) => c.command === CMD.bootId);
  t.equal(polls.at(-1)!.at <= 600_000, true);
  t.equal(polls.length, 18, '5, 15, 35 s, then every 40 s (8 × poll) to 595 s, and a last look at 600 s');
  t.equal(h.now(), 600_000, 'gave up exactly at the deadline');
});

t.test('a refused reboot fails at once with the reason the host gave', async (t) => {
  const h = scripted((cmd) =>
    cmd === CMD.reboot ? result('', 1, 'Failed to set wall message, ignoring: Interactive authentication required.\nFailed to talk to init daemon.\n') : result(OLD),
  );
  await t.rejects(rebootAndWait(h.exec, { deadlineMs: 60_000, pollMs: 500, host: 'web1', bootIdBefore: OLD, now: h.now, sleep: h.sleep }), {
    code: 'PKG_COMMAND_FAILED',
    message: 'reboot command failed on web1: Failed to talk to init daemon.',
  });
  t.equal(h.calls.length, 1, 'no polling after a refusal');
});
