// The SSH executor against a real OpenSSH sshd on loopback (harness/sshd.ts).
import crypto from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { TendhostError } from '../common/errors.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import { SshConnectionManager, type SshSettings } from '../workers/exec/ssh.js';
import { KnownHostsFile, fingerprint, hostPattern } from '../workers/exec/known-hosts.js';
import type { ExecutorNotice } from '../workers/exec/types.js';
import { LocalExecutor } from '../workers/exec/local.js';
import {
  NOSUDO_USER,
  SUDO_USER,
  canRunSshd,
  ensureTestUsers,
  freePort,
  keygen,
  publicKeyLine,
  startSshd,
} from '../harness/sshd.js';

const skip = canRunSshd();
if (skip) {
  t.plan(0, `ssh executor tests skipped: ${skip}`);
} else {
  await suite();
}

async function suite(): Promise<void> {
  // Keep the developer's agent and env key out of the tests that do not ask for them.
  delete process.env.SSH_AUTH_SOCK;
  delete process.env.TENDHOST_SSH_KEY;

  const { sudo } = ensureTestUsers();
  const sshd = await startSshd({ users: [SUDO_USER, NOSUDO_USER] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-ssh-test-'));
  const goodKey = keygen(path.join(tmp, 'id_good'));
  const wrongKey = keygen(path.join(tmp, 'id_wrong'));
  const encKey = keygen(path.join(tmp, 'id_enc'), { passphrase: 'hunter2' });
  const looseKey = path.join(tmp, 'id_loose');
  fs.copyFileSync(goodKey, looseKey);
  fs.chmodSync(looseKey, 0o640);
  for (const user of ['root', SUDO_USER, NOSUDO_USER]) sshd.authorize(user, publicKeyLine(goodKey));
  sshd.authorize('root', publicKeyLine(encKey));

  const managers: SshConnectionManager[] = [];
  t.teardown(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await sshd.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  let khCount = 0;
  const settings = (over: Partial<SshSettings> = {}): SshSettings => ({
    host_key_policy: 'accept-new',
    // a parent directory that does not exist yet: the executor creates it
    known_hosts: path.join(tmp, `kh-${khCount++}`, 'sub', 'known_hosts'),
    connect_timeout_ms: 5_000,
    idle_timeout_ms: 60_000,
    keepalive_ms: 10_000,
    max_sessions_per_worker: 50,
    max_handshakes_per_worker: 8,
    default_key: null,
    key_passphrase: null,
    ...over,
  });
  const manager = (over: Partial<SshSettings> = {}) => {
    const m = new SshConnectionManager(settings(over));
    managers.push(m);
    return m;
  };
  const host = (name: string, over: Partial<ResolvedHost> = {}): ResolvedHost => ({
    name,
    addr: '127.0.0.1',
    port: sshd.port,
    user: 'root',
    ssh_key: goodKey,
    compose_paths: [],
    tags: [],
    policy: { auto_reboot: false, maintenance_window: null },
    docker: { compose_version: null, pull_before_update: false },
    ...over,
  });
  const opts = { timeoutMs: 10_000 };
  const connects = watch('tendhost:ssh:connect');

  async function rejectsCode(t: Tap, p: Promise<unknown>, code: string): Promise<TendhostError> {
    try {
      await p;
    } catch (err) {
      t.type(err, TendhostError);
      t.equal((err as TendhostError).code, code, (err as Error).message);
      return err as TendhostError;
    }
    t.fail(`expected ${code}, the call succeeded`);
    throw new Error('unreachable');
  }

  await t.test('stdin gets the input and is closed; stderr streams while the command runs', async (t) => {
    const m = new SshConnectionManager(settings());
    managers.push(m);
    const ex = m.executorFor(host('stdin1'));
    const errChunks: string[] = [];
    let streamedBeforeEnd = false;
    const r = await ex.run('cat; echo first >&2; sleep 0.5; echo second >&2', {
      ...opts,
      input: 'user = "me:secret"\n',
      onStderr: (c) => {
        errChunks.push(c);
        if (c.includes('first') && !errChunks.join('').includes('second')) streamedBeforeEnd = true;
      },
    });
    t.equal(r.stdout, 'user = "me:secret"\n', 'cat read the input and saw its end');
    t.equal(errChunks.join(''), 'first\nsecond\n');
    t.ok(streamedBeforeEnd, 'the first stderr line arrived before the command wrote the second');
    t.equal(r.stderr, 'first\nsecond\n', 'and is kept in the result too');
    const local = await new LocalExecutor().run('cat; echo e >&2', { ...opts, input: 'in\n', onStderr: (c) => errChunks.push(`local:${c}`) });
    t.equal(local.stdout, 'in\n');
    t.ok(errChunks.includes('local:e\n'), 'the local executor streams stderr too');
    await ex.close();
  });

  await t.test('key auth runs a command and records the new host key (accept-new)', async (t) => {
    const s = settings();
    const m = new SshConnectionManager(s);
    managers.push(m);
    const notices: ExecutorNotice[] = [];
    const ex = m.executorFor(host('web1'), (n) => notices.push(n));
    const r = await ex.run('echo hi; echo err >&2; exit 3', opts);
    t.equal(r.stdout, 'hi\n');
    t.equal(r.stderr, 'err\n');
    t.equal(r.exitCode, 3);
    t.equal(r.timedOut, false);
    t.equal(r.truncated, false);
    t.ok(r.durationMs > 0);
    t.same(notices, [{ kind: 'connected' }]);
    const kh = fs.readFileSync(s.known_hosts, 'utf8');
    t.equal(kh, `[127.0.0.1]:${sshd.port} ssh-ed25519 ${sshd.hostKeyBlob().toString('base64')}\n`);
    t.same(m.stats(), { sessions_open: 1, handshakes_in_flight: 0, queued: 0 });
    await ex.close();
    t.same(notices.at(-1), { kind: 'disconnected', reason: 'executor closed', quiet: true }, 'our own close is marked quiet');
    t.equal(m.stats().sessions_open, 0);
    await rejectsCode(t, ex.run('true', opts), 'SSH_DISCONNECTED');
  });

  await t.test('a wrong key fails with SSH_AUTH_FAILED naming the host and address', async (t) => {
    const m = manager();
    const err = await rejectsCode(t, m.executorFor(host('badkey', { ssh_key: wrongKey })).run('true', opts), 'SSH_AUTH_FAILED');
    t.match(err.message, `badkey (root@127.0.0.1:${sshd.port})`);
    t.same(m.stats(), { sessions_open: 0, handshakes_in_flight: 0, queued: 0 });
  });

  await t.test('a key readable by group is refused before connecting', async (t) => {
    const m = manager();
    const before = connects.length;
    const err = await rejectsCode(t, m.executorFor(host('loose', { ssh_key: looseKey })).run('true', opts), 'SSH_KEY_INVALID');
    t.match(err.message, /UNPROTECTED PRIVATE KEY FILE/);
    t.match(err.message, /0640/);
    t.equal(connects.length, before, 'no connection attempted');
  });

  await t.test('an encrypted key needs key_passphrase', async (t) => {
    const err = await rejectsCode(t, manager().executorFor(host('enc', { ssh_key: encKey })).run('true', opts), 'SSH_KEY_INVALID');
    t.match(err.message, 'key is encrypted; set [daemon.ssh] key_passphrase');
    const wrong = await rejectsCode(
      t,
      manager({ key_passphrase: 'nope' }).executorFor(host('enc', { ssh_key: encKey })).run('true', opts),
      'SSH_KEY_INVALID',
    );
    t.match(wrong.message, /cannot be decrypted/);
    const r = await manager({ key_passphrase: 'hunter2' }).executorFor(host('enc', { ssh_key: encKey })).run('echo ok', opts);
    t.equal(r.stdout, 'ok\n');
  });

  await t.test('[defaults] ssh_key is used when the host has none; no key at all is SSH_NO_KEY', async (t) => {
    const r = await manager({ default_key: goodKey }).executorFor(host('dflt', { ssh_key: null })).run('echo d', opts);
    t.equal(r.stdout, 'd\n');
    await rejectsCode(t, manager().executorFor(host('none', { ssh_key: null })).run('true', opts), 'SSH_NO_KEY');
  });

  await t.test('TENDHOST_SSH_KEY (base64 in the environment) authenticates', async (t) => {
    process.env.TENDHOST_SSH_KEY = fs.readFileSync(goodKey).toString('base64');
    t.teardown(() => {
      delete process.env.TENDHOST_SSH_KEY;
    });
    const r = await manager().executorFor(host('envkey', { ssh_key: null })).run('echo env', opts);
    t.equal(r.stdout, 'env\n');
  });

  await t.test('strict refuses a host that is not in known_hosts', async (t) => {
    const s = settings({ host_key_policy: 'strict' });
    const m = new SshConnectionManager(s);
    managers.push(m);
    const err = await rejectsCode(t, m.executorFor(host('stranger')).run('true', opts), 'SSH_HOST_KEY_UNKNOWN');
    t.match(err.message, fingerprint(sshd.hostKeyBlob()));
    t.notOk(fs.existsSync(s.known_hosts) && fs.readFileSync(s.known_hosts, 'utf8').trim(), 'nothing recorded');
    // Once the key is on file, strict connects.
    fs.mkdirSync(path.dirname(s.known_hosts), { recursive: true });
    fs.writeFileSync(s.known_hosts, `# comment\n[127.0.0.1]:${sshd.port} ssh-ed25519 ${sshd.hostKeyBlob().toString('base64')} c\n`);
    t.equal((await m.executorFor(host('stranger')).run('echo ok', opts)).stdout, 'ok\n');
  });

  await t.test('a command timeout is reported and the same connection runs the next command', async (t) => {
    const m = manager();
    const ex = m.executorFor(host('slow'));
    const before = connects.length;
    const r = await ex.run('sleep 5', { timeoutMs: 300 });
    t.equal(r.timedOut, true);
    t.ok(r.durationMs < 1_000, `returned after ${Math.round(r.durationMs)} ms`);
    const again = await ex.run('echo still here', opts);
    t.equal(again.stdout, 'still here\n');
    t.equal(countStarts(connects.slice(before)), 1, 'one connection for both commands');
    t.equal(m.stats().sessions_open, 1);
  });

  await t.test('a timed-out command of a non-root user is killed with KILL', { skip: sudo ? false : 'no test users' }, async (t) => {
    const ex = manager().executorFor(host('slow-user', { user: SUDO_USER }));
    const r = await ex.run('sleep 5', { timeoutMs: 300 });
    t.equal(r.timedOut, true);
    t.equal(r.signal, 'SIGKILL', 'sshd delivered the signal');
    t.ok(r.durationMs < 1_000, `returned after ${Math.round(r.durationMs)} ms`);
    t.equal((await ex.run('echo ok', opts)).stdout, 'ok\n');
  });

  await t.test('an output flood is cut at maxOutputBytes and flagged', async (t) => {
    const ex = manager().executorFor(host('flood'));
    const chunks: string[] = [];
    const r = await ex.run('head -c 20000000 /dev/zero', { timeoutMs: 10_000, maxOutputBytes: 1_000_000, onStdout: (c) => chunks.push(c) });
    t.equal(r.truncated, true);
    t.equal(r.stdout.length, 1_000_000);
    t.equal(chunks.join('').length, 1_000_000);
    t.equal((await ex.run('echo next', opts)).stdout, 'next\n', 'the connection is still usable');
  });

  await t.test('root commands use sudo -n for non-root users', { skip: sudo || process.env.CI === 'true' ? false : 'sudo is not installed' }, async (t) => {
    const m = manager();
    const withSudo = m.executorFor(host('sudoer', { user: SUDO_USER }));
    t.equal((await withSudo.run('id -u', opts)).stdout.trim() !== '0', true, 'plain command runs as the user');
    const r = await withSudo.run('id -u', { ...opts, root: true });
    t.equal(r.stdout.trim(), '0');
    t.equal(r.exitCode, 0);
    const err = await rejectsCode(t, m.executorFor(host('nosudo', { user: NOSUDO_USER })).run('id -u', { ...opts, root: true }), 'SUDO_PASSWORD_REQUIRED');
    t.match(err.message, `sudo needs a password for ${NOSUDO_USER}@nosudo`);
    // root itself needs no sudo (and no detection round trip)
    t.equal((await m.executorFor(host('rooty')).run('id -u', { ...opts, root: true })).stdout.trim(), '0');
  });

  await t.test('connection refused on a closed port', async (t) => {
    const port = await freePort();
    const m = manager();
    const err = await rejectsCode(t, m.executorFor(host('closed', { port })).run('true', opts), 'SSH_CONNECTION_REFUSED');
    t.match(err.message, `closed (root@127.0.0.1:${port})`);
    t.same(m.stats(), { sessions_open: 0, handshakes_in_flight: 0, queued: 0 });
  });

  await t.test('a server that never finishes the handshake times out with SSH_TIMEOUT', async (t) => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s)).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as net.AddressInfo).port;
    // Long enough for a real sshd's handshake on a loaded machine (the same
    // manager then serves a live host), far below the default 10 s.
    const m = manager({ connect_timeout_ms: 2_000 });
    const started = Date.now();
    await rejectsCode(t, m.executorFor(host('tarpit', { port })).run('true', opts), 'SSH_TIMEOUT');
    t.ok(Date.now() - started < 5_000);
    // The dead host did not keep its slots, and other hosts still work.
    t.same(m.stats(), { sessions_open: 0, handshakes_in_flight: 0, queued: 0 });
    t.equal((await m.executorFor(host('alive')).run('echo ok', opts)).stdout, 'ok\n');
  });

  await t.test('the handshake cap queues: 10 hosts with max 2 handshakes all succeed', async (t) => {
    const s = settings({ max_handshakes_per_worker: 2 });
    const m = new SshConnectionManager(s);
    managers.push(m);
    let maxInFlight = 0;
    let maxQueued = 0;
    const sample = () => {
      const st = m.stats();
      maxInFlight = Math.max(maxInFlight, st.handshakes_in_flight);
      maxQueued = Math.max(maxQueued, st.queued);
    };
    const sub = () => sample();
    diagnostics.subscribe('tendhost:ssh:connect', sub);
    t.teardown(() => diagnostics.unsubscribe('tendhost:ssh:connect', sub));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const p = m.executorFor(host(`cap-${i}`)).run(`echo ${i}`, opts);
        sample();
        return p;
      }),
    );
    t.same(results.map((r) => r.stdout), Array.from({ length: 10 }, (_, i) => `${i}\n`));
    t.ok(maxInFlight <= 2, `at most 2 handshakes at once (saw ${maxInFlight})`);
    t.ok(maxQueued > 0, `some waited (saw ${maxQueued} queued)`);
    t.equal(m.stats().sessions_open, 10);
    t.equal(fs.readFileSync(s.known_hosts, 'utf8').trim().split('\n').length, 1, 'the shared address is recorded once');
  });

  await t.test('the session cap closes the least recently used idle connection', async (t) => {
    const m = manager({ max_sessions_per_worker: 2 });
    const notices: Record<string, ExecutorNotice[]> = { a: [], b: [], c: [] };
    const ex = Object.fromEntries(['a', 'b', 'c'].map((n) => [n, m.executorFor(host(n), (x) => notices[n]!.push(x))]));
    await ex.a!.run('true', opts);
    await ex.b!.run('true', opts);
    await ex.a!.run('true', opts); // b is now the least recently used
    await ex.c!.run('true', opts);
    t.equal(m.stats().sessions_open, 2);
    await new Promise((r) => setTimeout(r, 50));
    t.match(notices.b!.at(-1), { kind: 'disconnected', reason: /session slot/, quiet: true });
    t.same(notices.a, [{ kind: 'connected' }]);
    t.equal((await ex.b!.run('echo back', opts)).stdout, 'back\n', 'b reconnects on its next command');
  });

  await t.test('a connection dropped between commands is reopened; one dropped mid-command fails it', async (t) => {
    const m = manager();
    const notices: ExecutorNotice[] = [];
    const ex = m.executorFor(host('flaky'), (n) => notices.push(n));
    // $PPID of the remote shell is the per-connection sshd process.
    const pid = Number((await ex.run('echo $PPID', opts)).stdout.trim());
    t.ok(pid > 1);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => notices.some((n) => n.kind === 'disconnected'));
    t.equal((await ex.run('echo again', opts)).stdout, 'again\n');
    t.same(notices.map((n) => n.kind), ['connected', 'disconnected', 'connected']);
    const err = await rejectsCode(t, ex.run('kill -9 $PPID; sleep 5', opts), 'SSH_DISCONNECTED');
    t.match(err.message, 'flaky (root@127.0.0.1');
    t.equal((await ex.run('echo recovered', opts)).stdout, 'recovered\n');
  });

  // Last: it replaces the sshd host key.
  await t.test('a changed host key quarantines the host until acceptNewHostKey', async (t) => {
    const s = settings({ host_key_policy: 'accept-new' });
    const m = new SshConnectionManager(s);
    managers.push(m);
    const ex = m.executorFor(host('moved'));
    await ex.run('true', opts);
    const oldFp = fingerprint(sshd.hostKeyBlob());
    ex.disconnect('test: restarting sshd');
    await sshd.restart({ newHostKey: true });
    const newFp = fingerprint(sshd.hostKeyBlob());
    t.not(oldFp, newFp);

    const err = await rejectsCode(t, ex.run('true', opts), 'SSH_HOST_KEY_MISMATCH');
    t.match(err.message, /host key changed/);
    t.match(err.message, oldFp);
    t.match(err.message, newFp);
    t.match(err.details, { expected_fingerprint: oldFp, presented_fingerprint: newFp });
    t.same(m.isQuarantined('moved'), { expected: oldFp, presented: newFp });

    const before = countStarts(connects);
    await rejectsCode(t, ex.run('true', opts), 'SSH_HOST_KEY_MISMATCH');
    t.equal(countStarts(connects), before, 'quarantined: no connection attempt');

    // strict refuses the changed key too, without a quarantine shortcut
    const strict = new SshConnectionManager({ ...s, host_key_policy: 'strict' });
    managers.push(strict);
    await rejectsCode(t, strict.executorFor(host('moved')).run('true', opts), 'SSH_HOST_KEY_MISMATCH');
    // off accepts anything
    const off = new SshConnectionManager({ ...s, host_key_policy: 'off' });
    managers.push(off);
    t.match(off.hostKeyPolicyWarning(), /not checked/);
    t.equal((await off.executorFor(host('moved')).run('echo off', opts)).stdout, 'off\n');

    t.equal(m.acceptNewHostKey('moved'), true);
    t.equal(m.isQuarantined('moved'), null);
    const kh = fs.readFileSync(s.known_hosts, 'utf8');
    t.equal(kh, `[127.0.0.1]:${sshd.port} ssh-ed25519 ${sshd.hostKeyBlob().toString('base64')}\n`);
    t.equal((await ex.run('echo accepted', opts)).stdout, 'accepted\n');
    t.equal(m.acceptNewHostKey('moved'), false, 'nothing left to accept');
  });

  t.test('known_hosts reads hashed entries, wildcards and negation', async (t) => {
    const file = path.join(tmp, 'kh-unit', 'known_hosts');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const blob = sshd.hostKeyBlob();
    const other = Buffer.from(publicKeyLine(wrongKey).split(' ')[1]!, 'base64');
    const salt = crypto.randomBytes(20);
    const mac = crypto.createHmac('sha1', salt).update(hostPattern('10.0.0.7', 2222)).digest('base64');
    fs.writeFileSync(
      file,
      [
        `|1|${salt.toString('base64')}|${mac} ssh-ed25519 ${blob.toString('base64')}`,
        `*.example.com,!bad.example.com ssh-ed25519 ${blob.toString('base64')}`,
        `@revoked * ssh-ed25519 ${other.toString('base64')}`,
        `plain,web9 ssh-ed25519 ${other.toString('base64')}`,
      ].join('\n'), // no trailing newline on purpose
    );
    const kh = new KnownHostsFile(file);
    t.same(kh.check('10.0.0.7', 2222, blob), { status: 'known' });
    t.same(kh.check('10.0.0.7', 22, blob), { status: 'unknown' });
    t.same(kh.check('a.example.com', 22, blob), { status: 'known' });
    t.same(kh.check('bad.example.com', 22, blob), { status: 'unknown' });
    t.same(kh.check('web9', 22, blob), { status: 'changed', expected: [fingerprint(other)] });
    kh.add('new', 22, blob);
    t.match(fs.readFileSync(file, 'utf8'), `web9 ssh-ed25519 ${other.toString('base64')}\nnew ssh-ed25519 `);
    kh.replace('web9', 22, blob);
    const text = fs.readFileSync(file, 'utf8');
    t.match(text, `plain ssh-ed25519 ${other.toString('base64')}`, 'the other host on the line keeps its key');
    t.same(kh.check('web9', 22, blob), { status: 'known' });
    t.same(new KnownHostsFile(file).check('plain', 22, other), { status: 'known' });
  });
}

type Tap = Pick<typeof t, 'type' | 'equal' | 'fail'>;

function watch(name: string): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  diagnostics.subscribe(name, (msg) => seen.push(msg as Record<string, unknown>));
  return seen;
}

function countStarts(events: Array<Record<string, unknown>>): number {
  return events.filter((e) => e.phase === 'start').length;
}

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
