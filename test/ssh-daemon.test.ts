// The SSH executor end to end through the built daemon's HTTP API, against a
// real OpenSSH sshd on loopback (harness/sshd.ts) whose host is this
// Debian machine: apt is real, and only ever simulated (`apt-get -s`).
// Nothing here upgrades or reboots the machine: the one non-dry update runs as
// a user whose sudo needs a password, and the test checks first that it does.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { fingerprint } from '../workers/exec/known-hosts.js';
import { jobWithHosts, startDaemon, until, type Daemon } from '../harness/daemon.js';
import { NOSUDO_USER, SUDO_USER, canRunSshd, ensureTestUsers, keygen, publicKeyLine, startSshd, type Sshd } from '../harness/sshd.js';

const skip = canRunSshd();
if (skip) {
  t.plan(0, `ssh daemon tests skipped: ${skip}`);
} else {
  await suite();
}

/** What this machine's apt would upgrade right now (read-only simulation). */
function aptPendingCount(): number {
  const out = execFileSync('sh', ['-c', 'LANG=C LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade'], { encoding: 'utf8' });
  const m = /^(\d+) upgraded, /m.exec(out);
  return m ? Number(m[1]) : 0;
}

/** True when `user` can run sudo without a password (then a non-dry update would really run). */
function sudoWorksFor(user: string): boolean {
  try {
    execFileSync('runuser', ['-u', user, '--', 'sudo', '-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function mtimes(paths: string[]): Record<string, number> {
  return Object.fromEntries(paths.map((p) => [p, fs.existsSync(p) ? fs.statSync(p).mtimeMs : -1]));
}

async function suite(): Promise<void> {
  delete process.env.SSH_AUTH_SOCK;
  delete process.env.TENDHOST_SSH_KEY;
  const { sudo } = ensureTestUsers();
  const sshd = await startSshd({ users: [SUDO_USER, NOSUDO_USER] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-ssh-daemon-'));
  const key = keygen(path.join(tmp, 'id_ed25519'));
  for (const user of ['root', SUDO_USER, NOSUDO_USER]) sshd.authorize(user, publicKeyLine(key));
  const daemons: Daemon[] = [];
  t.teardown(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await sshd.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const hostToml = (name: string, user: string) =>
    `[[host]]\nname = "${name}"\naddr = "127.0.0.1"\nport = ${sshd.port}\nuser = "${user}"\nssh_key = "${key}"\n[host.policy]\nauto_reboot = false\n`;
  const start = async (o: { policy: string; knownHosts: string; daemon?: string; hosts: string; auditFile?: string }) => {
    const d = await startDaemon({
      workers: 2,
      daemon: `[daemon.ssh]\nhost_key_policy = "${o.policy}"\nknown_hosts = "${o.knownHosts}"\nidle_timeout_s = 1\nconnect_timeout_s = 5\n${o.daemon ?? ''}`,
      toml: (o.auditFile ? `[audit]\nenabled = true\nfile = "${o.auditFile}"\n\n` : '') + o.hosts,
    });
    daemons.push(d);
    return d;
  };
  /** Start an update and wait for its job to end; the host's status then. */
  const update = async (d: Daemon, host: string, dryRun: boolean) => {
    const r = await d.request('POST', `/hosts/${host}/update`, { dry_run: dryRun });
    if (r.status !== 202) throw new Error(`update ${host}: ${r.status} ${r.text}`);
    const job = await until(async () => {
      const j = await d.get(`/jobs/${r.body.job_id}`);
      return j.body.state !== 'running' && j.body.state !== 'pending';
    }, 60_000, 100).then(() => jobWithHosts(d, r.body.job_id));
    const status = (await d.get(`/hosts/${host}`)).body;
    return { job, status };
  };
  const connectionsLogged = (s: Sshd) => (s.log().match(/Connection from 127\.0\.0\.1 port \d+/g) ?? []).length;

  const knownHosts = path.join(tmp, 'state-a', 'known_hosts');
  const auditFile = path.join(tmp, 'audit.log');
  const d = await start({
    policy: 'accept-new',
    knownHosts,
    auditFile,
    hosts: [hostToml('as-root', 'root'), hostToml('as-sudo', SUDO_USER), hostToml('as-nosudo', NOSUDO_USER)].join('\n'),
  });
  const events: any[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
  ws.on('message', (m) => events.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  t.teardown(() => ws.close());
  const pending = aptPendingCount();
  const oldKey = sshd.hostKeyBlob();

  await t.test('a dry run over SSH as root reports what apt would upgrade here, and accept-new records the key', async (t) => {
    const { job, status } = await update(d, 'as-root', true);
    t.equal(job.state, 'succeeded', JSON.stringify(job.hosts[0]));
    t.equal(status.state, 'idle');
    t.equal(status.error, null);
    t.equal(status.package_manager, 'apt');
    t.equal(status.pending_updates, pending, `this machine has ${pending} pending upgrades`);
    t.equal(fs.readFileSync(knownHosts, 'utf8'), `[127.0.0.1]:${sshd.port} ssh-ed25519 ${oldKey.toString('base64')}\n`, 'known_hosts holds the sshd key');
    const done = events.find((e) => e.type === 'UpdateCompleted' && e.host === 'as-root');
    if (pending > 0) {
      t.equal(done?.result.dry_run, true);
      t.equal(done?.result.packages.length, pending);
    }
    t.equal(events.filter((e) => e.type === 'HostConnected' && e.host === 'as-root').length, 1, 'one HostConnected');
  });

  await t.test('a dry run as the passwordless-sudo user works the same', { skip: sudo || process.env.CI === 'true' ? false : 'sudo is not installed' }, async (t) => {
    const { job, status } = await update(d, 'as-sudo', true);
    t.equal(job.state, 'succeeded', JSON.stringify(job.hosts[0]));
    t.equal(status.package_manager, 'apt');
    t.equal(status.pending_updates, pending);
  });

  await t.test('the no-sudo user: a real update stops at `sudo -n apt-get update` with "sudo needs a password", nothing runs as root', async (t) => {
    if (!sudo) return t.skip('sudo is not installed', async () => {});
    // Safety first: if this user could sudo, the update below would really run.
    if (sudoWorksFor(NOSUDO_USER)) return t.fail(`${NOSUDO_USER} can sudo without a password here; refusing to run a real update`);
    const watched = mtimes(['/var/lib/apt/lists', '/var/lib/apt/lists/partial', '/var/lib/apt/lists/lock', '/var/cache/apt/pkgcache.bin']);
    const t0 = Date.now();
    const { job, status } = await update(d, 'as-nosudo', false);
    t.equal(job.state, 'failed');
    t.equal(job.hosts[0].code, 'SUDO_PASSWORD_REQUIRED');
    t.equal(status.state, 'failed');
    t.equal(status.failed.code, 'SUDO_PASSWORD_REQUIRED');
    t.match(status.error, `sudo needs a password for ${NOSUDO_USER}@as-nosudo`);
    t.match(status.error, /NOPASSWD/, 'says how to fix it');
    t.equal(status.pending_updates, null, 'no package listing happened after the refused refresh');
    t.ok(Date.now() - t0 < 20_000, 'fails at once instead of hanging on a password prompt');
    t.same(mtimes(Object.keys(watched)), watched, 'apt lists and caches untouched: apt-get update never ran as root');
    await d.request('POST', '/hosts/as-nosudo/acknowledge', {});
  });

  await t.test('a changed host key fails the host naming both fingerprints, quarantines it until accepted (audited)', async (t) => {
    // Let the open session idle-close (1 s): a live session would keep talking to the old sshd child.
    await new Promise((r) => setTimeout(r, 1500));
    await sshd.restart({ newHostKey: true });
    const newKey = sshd.hostKeyBlob();
    t.not(fingerprint(newKey), fingerprint(oldKey));

    const first = await update(d, 'as-root', true);
    t.equal(first.status.state, 'failed');
    t.equal(first.status.failed.code, 'SSH_HOST_KEY_MISMATCH');
    t.equal(first.job.hosts[0].code, 'SSH_HOST_KEY_MISMATCH');
    t.match(first.status.error, `expected ${fingerprint(oldKey)}, presented ${fingerprint(newKey)}`);
    t.match(first.status.error, /host key changed/);
    const lost = await until(() => events.find((e) => e.type === 'HostDisconnected' && e.host === 'as-root'));
    t.match(lost.reason, /host key changed/, 'HostDisconnected says why the host is gone');

    // Quarantined: another attempt fails the same way without a connection reaching sshd.
    t.equal((await d.request('POST', '/hosts/as-root/retry', {})).status, 202);
    const seen = connectionsLogged(sshd);
    const again = await update(d, 'as-root', true);
    t.equal(again.status.failed.code, 'SSH_HOST_KEY_MISMATCH');
    await new Promise((r) => setTimeout(r, 300));
    t.equal(connectionsLogged(sshd), seen, 'no connection was opened while quarantined');
    t.equal(fs.readFileSync(knownHosts, 'utf8').includes(oldKey.toString('base64')), true, 'known_hosts still has the old key');

    const accepted = await d.request('POST', '/hosts/as-root/host-key/accept', {});
    t.equal(accepted.status, 200, accepted.text);
    t.equal(accepted.body.name, 'as-root');
    t.equal(fs.readFileSync(knownHosts, 'utf8'), `[127.0.0.1]:${sshd.port} ssh-ed25519 ${newKey.toString('base64')}\n`, 'known_hosts now holds the new key only');
    const audit = await until(() => {
      const lines = fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      return lines.find((l) => l.action === 'host.key_accept' && l.host === 'as-root');
    });
    t.equal(audit.result, 'ok', 'the acceptance is audited');
    const twice = await d.request('POST', '/hosts/as-root/host-key/accept', {});
    t.equal(twice.status, 409);
    t.equal(twice.body.code, 'NOTHING_TO_ACCEPT');

    t.equal((await d.request('POST', '/hosts/as-root/retry', {})).status, 202);
    const ok = await update(d, 'as-root', true);
    t.equal(ok.job.state, 'succeeded', JSON.stringify(ok.job.hosts[0]));
    t.equal(ok.status.pending_updates, pending);
    t.equal(events.filter((e) => e.type === 'HostConnected' && e.host === 'as-root').length, 2, 'reachable again: a second HostConnected');
  });

  await t.test('idle-timeout closes are not reported as disconnects', async (t) => {
    // Sessions idle-close after 1 s; every close so far was housekeeping or the key change.
    await new Promise((r) => setTimeout(r, 1500));
    const disconnects = events.filter((e) => e.type === 'HostDisconnected');
    t.same(disconnects.map((e) => e.host), ['as-root'], 'only the host whose key changed was reported lost');
    t.ok(events.filter((e) => e.type === 'HostConnected').length >= 3);
  });

  await t.test('strict refuses a host that is not in known_hosts, naming it', async (t) => {
    const kh = path.join(tmp, 'state-strict', 'known_hosts');
    const s = await start({ policy: 'strict', knownHosts: kh, hosts: hostToml('stranger', 'root') });
    const seen = connectionsLogged(sshd);
    const { job, status } = await update(s, 'stranger', true);
    t.equal(job.state, 'failed');
    t.equal(status.failed.code, 'SSH_HOST_KEY_UNKNOWN');
    t.match(status.error, `stranger (root@127.0.0.1:${sshd.port})`);
    t.match(status.error, `${fingerprint(sshd.hostKeyBlob())} is not in ${kh}`);
    t.match(status.error, /host_key_policy is "strict"/);
    t.equal(fs.existsSync(kh), false, 'nothing was written to known_hosts');
    t.ok(connectionsLogged(sshd) > seen, 'it did reach sshd (and hung up after the key exchange)');
    await s.stop();
  });

  await t.test('"off" warns at startup; a command timeout is COMMAND_TIMEOUT in HostStatus.error', async (t) => {
    const s = await start({
      policy: 'off',
      knownHosts: path.join(tmp, 'state-off', 'known_hosts'),
      daemon: '[daemon.operations]\ncommand_timeout_s = 0.001\n',
      hosts: hostToml('hurried', 'root'),
    });
    const warn = await s.waitForLog((l) => l.msg.includes('host_key_policy is "off"'));
    t.equal(warn.level, 'warn');
    t.match(warn.msg, /host keys are not checked/);
    const { job, status } = await update(s, 'hurried', true);
    t.equal(job.state, 'failed');
    t.equal(job.hosts[0].code, 'COMMAND_TIMEOUT');
    t.equal(status.failed.code, 'COMMAND_TIMEOUT');
    t.match(status.error, /timed out/);
    t.equal(fs.existsSync(path.join(tmp, 'state-off', 'known_hosts')), false, 'off writes no known_hosts');
    await s.stop();
  });
}
