// Every error code the actor can produce, each from a scripted host that
// causes it. The list to cover is read from the worker source the actor runs
// (machine, actor, operations, reboot, package drivers, executors): a new code
// thrown there without a case here fails the last test.
import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { isErrorCode } from '../../common/errors.js';
import { CMD } from '../../workers/pkg/commands.js';
import { ActorRig, fakeClock, resolvedHost } from './actor-harness.js';
import { aptSimulation, isAptUpgrade, sshError } from './scripted-executor.js';
import { STACK, scriptCompose, type ComposeScript } from './scripted-compose.js';

const root = new URL('../../', import.meta.url);
const SCANNED = [
  'common/host-machine.ts',
  ...['actor.ts', 'operations.ts', 'reboot.ts'].map((f) => `workers/${f}`),
  ...['workers/pkg', 'workers/exec'].flatMap((d) => readdirSync(new URL(d, root)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`)),
];

/** How a code reaches the outside: a refused command, a failed host (job result), or a service skipped in an update's result. */
type Kind = 'refused' | 'failed' | 'skipped';
interface Case {
  kind: Kind;
  /** Runs the scenario; returns the code the actor reported. */
  run: (t: Test) => Promise<string | null>;
}

const upd = { kind: 'update', dry_run: false } as const;

/** The code of a failed update job on a host scripted by `script`. */
function failing(script: (rig: ActorRig) => void, host = resolvedHost(), fake = false): Case {
  return { kind: 'failed', run: async (t: Test): Promise<string | null> => {
    const clock = fake ? fakeClock('2026-03-02T10:00:00Z') : null;
    try {
      const rig = new ActorRig(host);
      script(rig);
      const r = await rig.job(upd, fake);
      t.equal(r.success, false);
      t.equal(rig.lastStatus().failed?.code, r.code, 'the failed context carries the job result’s code');
      t.same(rig.exec.unscripted, []);
      return r.code;
    } finally {
      clock?.restore();
    }
  } };
}

const connectFailure = (code: Parameters<typeof sshError>[0]) => failing((rig) => rig.exec.failAll(sshError(code)));
const upgradeFails = (stderr: string, exitCode = 100) => failing((rig) => rig.exec.on(isAptUpgrade, { exitCode, stderr }));
const rebooting = resolvedHost({}, { auto_reboot: true });
/** The reboot goes through and the host then answers, but refuses us with `code`. */
const afterReboot = (code: Parameters<typeof sshError>[0]) =>
  failing(
    (rig) => {
      rig.exec.host.rebootAfterUpgrade = true;
      rig.exec.on(CMD.reboot, () => {
        rig.exec.on(CMD.bootId, sshError(code));
        return sshError('SSH_DISCONNECTED');
      });
    },
    rebooting,
    true,
  );

/** An update of the Compose host (fake clock: the service check looks twice, a second apart). */
async function composeUpdate(t: Test, script: ComposeScript) {
  const clock = fakeClock('2026-03-02T10:00:00Z');
  t.teardown(clock.restore);
  const rig = new ActorRig(resolvedHost({ compose_paths: [STACK] }));
  scriptCompose(rig.exec, script);
  const r = await rig.job(upd, true);
  clock.restore();
  t.same(rig.exec.unscripted, []);
  const done = rig.events().find((e) => e.type === 'UpdateCompleted');
  return { rig, r, result: done?.type === 'UpdateCompleted' ? done.result : null };
}
const registrySkips = (registry: ComposeScript['registry']) => async (t: Test) => {
  const { r, result } = await composeUpdate(t, { registry, after: 'running' });
  t.match(r, { success: true, state: 'idle' }, 'a registry that cannot be asked fails no host');
  t.equal(result?.skipped.length, 1);
  return result?.skipped[0]?.code ?? null;
};

async function refusal(t: Test, rig: ActorRig, cmd: Parameters<ActorRig['command']>[0]): Promise<string | null> {
  const reply = await rig.command(cmd);
  t.equal(reply.ok, false, `${cmd.kind} refused`);
  return reply.ok ? null : reply.error.code;
}

const CASES: Record<string, Case> = {
  HOST_BUSY: {
    kind: 'refused',
    run: async (t) => {
      const rig = new ActorRig();
      const release = rig.exec.hold(CMD.aptSimulate, { stdout: aptSimulation(['openssl']) });
      await rig.command({ kind: 'query' });
      t.equal(await refusal(t, rig, { kind: 'reboot' }), 'HOST_BUSY', 'busy beats every other refusal');
      const code = await refusal(t, rig, upd);
      release();
      await rig.settle();
      t.equal(rig.actor.state, 'pending_updates', 'the running query finished undisturbed');
      return code;
    },
  },
  HOST_FAILED: {
    kind: 'refused',
    run: async (t) => {
      const rig = new ActorRig();
      rig.exec.failAll(sshError('SSH_TIMEOUT'), 1);
      await rig.job({ kind: 'query' });
      return refusal(t, rig, upd);
    },
  },
  INVALID_HOST_STATE: { kind: 'refused', run: (t) => refusal(t, new ActorRig(), { kind: 'reboot' }) },
  HOST_NOT_FAILED: {
    kind: 'refused',
    run: async (t) => {
      const rig = new ActorRig();
      t.equal(await refusal(t, rig, { kind: 'acknowledge' }), 'HOST_NOT_FAILED');
      return refusal(t, rig, { kind: 'retry' });
    },
  },
  NOTHING_TO_ACCEPT: { kind: 'refused', run: (t) => refusal(t, new ActorRig(), { kind: 'accept_host_key' }) },
  HOST_NOT_FOUND: {
    kind: 'refused',
    run: async (t) => {
      const rig = new ActorRig();
      await rig.actor.stop();
      return refusal(t, rig, upd);
    },
  },
  INTERRUPTED: {
    kind: 'failed',
    run: async (t) => {
      const rig = new ActorRig();
      const release = rig.exec.hold(isAptUpgrade, { stdout: '' });
      await rig.command(upd);
      await rig.settle(() => rig.actor.state === 'updating' && rig.exec.ran.some(isAptUpgrade));
      rig.actor.interrupt('daemon stopping');
      const r = rig.results()[0];
      t.match(r, { success: false, state: 'failed', error: 'interrupted: daemon stopping during updating' });
      const edges = rig.edges().length;
      release();
      await rig.settle(() => rig.exec.ran.includes(CMD.aptRebootRequired));
      await rig.settle();
      t.equal(rig.edges().length, edges, 'the upgrade that ends later changes nothing');
      t.equal(rig.actor.state, 'failed');
      t.equal(rig.results().length, 1, 'the job result is reported once');
      return r.code;
    },
  },
  INTERNAL: failing((rig) => rig.exec.failAll(new Error('socket hang up'))),
  SSH_CONNECTION_REFUSED: connectFailure('SSH_CONNECTION_REFUSED'),
  SSH_UNREACHABLE: connectFailure('SSH_UNREACHABLE'),
  SSH_TIMEOUT: connectFailure('SSH_TIMEOUT'),
  SSH_DISCONNECTED: connectFailure('SSH_DISCONNECTED'),
  SSH_HOST_KEY_UNKNOWN: connectFailure('SSH_HOST_KEY_UNKNOWN'),
  SSH_KEY_INVALID: connectFailure('SSH_KEY_INVALID'),
  SSH_NO_KEY: connectFailure('SSH_NO_KEY'),
  // Answered after the reboot, but refused: that host's failure, not a reboot timeout.
  SSH_HOST_KEY_MISMATCH: afterReboot('SSH_HOST_KEY_MISMATCH'),
  SSH_AUTH_FAILED: afterReboot('SSH_AUTH_FAILED'),
  COMMAND_TIMEOUT: failing((rig) => rig.exec.on(CMD.aptSimulate, { exitCode: null, signal: 'SIGKILL', timedOut: true })),
  OUTPUT_TRUNCATED: failing((rig) => rig.exec.on(CMD.aptSimulate, { stdout: aptSimulation(['openssl']), truncated: true })),
  SUDO_PASSWORD_REQUIRED: upgradeFails('sudo: a password is required\n', 1),
  PACKAGE_MANAGER_LOCKED: upgradeFails('E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n'),
  PKG_PERMISSION_DENIED: upgradeFails(
    'E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?\n',
  ),
  PKG_DISK_FULL: upgradeFails("E: You don't have enough free space in /var/cache/apt/archives/.\n"),
  PKG_COMMAND_FAILED: upgradeFails('Errors were encountered while processing:\n openssl\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n'),
  PKG_REPO_UNREACHABLE: failing((rig) =>
    rig.exec.on(CMD.aptRefresh, {
      stderr: 'W: Failed to fetch http://deb.example/debian/dists/bookworm/InRelease  Could not connect to deb.example:80\nW: Some index files failed to download. They have been ignored, or old ones used instead.\n',
    }),
  ),
  PKG_UNKNOWN_MANAGER: failing((rig) => rig.exec.on(CMD.detectTools, { stdout: '' })),
  // The reboot command runs and returns, and the host keeps its boot id: it never went down.
  REBOOT_TIMEOUT: failing(
    (rig) => {
      rig.exec.host.rebootAfterUpgrade = true;
      rig.exec.on(CMD.reboot, { exitCode: 0 });
    },
    rebooting,
    true,
  ),
  VERIFY_FAILED: failing(
    (rig) => {
      rig.exec.host.rebootAfterUpgrade = true;
      rig.exec.on('systemctl is-system-running', { exitCode: 1, stdout: 'degraded\n' });
    },
    resolvedHost({}, { auto_reboot: true, verify_command: 'systemctl is-system-running' }),
    true,
  ),
  COMPOSE_SERVICE_FAILED: {
    kind: 'failed',
    run: async (t) => {
      const { r, rig } = await composeUpdate(t, { registry: 'moved', after: 'exited' });
      t.match(r.error, /service web in \/srv\/app: container c0ffee0c0ffe exited; last log lines: .*panic/);
      t.equal(rig.lastStatus().failed?.previous_state, 'updating');
      return r.code;
    },
  },
  REGISTRY_REFUSED: { kind: 'skipped', run: registrySkips('forbidden') },
  REGISTRY_TAG_NOT_FOUND: { kind: 'skipped', run: registrySkips('no-tag') },
  REGISTRY_UNREACHABLE: { kind: 'skipped', run: registrySkips('unreachable') },
};

for (const [code, c] of Object.entries(CASES)) {
  t.test(`${code} (${c.kind})`, async (t) => {
    t.equal(await c.run(t), code);
  });
}

t.test('a changed host key is accepted once, then nothing is left to accept', async (t) => {
  const rig = new ActorRig();
  rig.exec.keyToAccept = true;
  t.match(await rig.command({ kind: 'accept_host_key' }), { ok: true, state: 'idle' });
  t.match(await rig.command({ kind: 'accept_host_key' }), { ok: false, error: { code: 'NOTHING_TO_ACCEPT' } });
});

t.test('a Compose stack whose tag moved is pulled, recreated and checked', async (t) => {
  const { r, result, rig } = await composeUpdate(t, { registry: 'moved', after: 'running' });
  t.match(r, { success: true, state: 'idle' });
  t.match(result, { upgraded: 1, packages: [{ name: `${STACK}:web`, current_version: 'sha256:old', new_version: 'sha256:new' }] });
  t.ok(rig.exec.ran.includes(CMD.composeUp('v2', STACK, ['web'])));
});

t.test('every code the actor’s code paths can produce has a case', async (t) => {
  // Anything else thrown becomes INTERNAL (asTendhostError's fallback, which the actor calls).
  const found = new Set<string>(['INTERNAL']);
  for (const f of SCANNED) {
    for (const m of readFileSync(new URL(f, root), 'utf8').matchAll(/'([A-Z][A-Z_]+)'/g)) if (isErrorCode(m[1])) found.add(m[1]);
  }
  t.ok(found.size >= 30, `found ${found.size} codes in ${SCANNED.length} files`);
  t.same([...found].filter((c) => !(c in CASES)).sort(), [], 'codes without a case');
  t.same(Object.keys(CASES).filter((c) => !found.has(c)).sort(), [], 'cases for codes the workers no longer produce');
});
