// A real update with auto_reboot on a minimal Debian host (debootstrap
// minbase: no procps, so no `uptime`), through the built daemon and a real
// sshd: apt-get upgrades for real, the upgrade asks for a reboot, the host
// goes away (connections refused) and comes back with a new boot id — and the
// host ends idle with last_updated set. The same with a host key that changed
// across the reboot ends quarantined with the host-key error, not a timeout;
// a verify_command that fails says so with its output.
import type { Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { jobWithHosts, startDaemon, until, type Daemon } from '../harness/daemon.js';
import { canRunSshd, keygen, publicKeyLine, startSshd, type Sshd } from '../harness/sshd.js';
import { PACKAGE, canBuildMinimalRoot, makeMinimalRoot, type MinimalRoot } from './helpers/minimal-host.js';

const skip = canRunSshd() ?? canBuildMinimalRoot();
if (skip) t.plan(0, `minimal host tests skipped: ${skip}`);

interface Rig {
  root: MinimalRoot;
  sshd: Sshd;
  d: Daemon;
  /** Acts as the host's firmware: answers reboot requests until stopped. */
  stopRebooter(): void;
  reboots: number;
}

async function rig(t: Test, o: { newHostKeyOnReboot?: boolean; verifyCommand?: string } = {}): Promise<Rig> {
  const root = makeMinimalRoot();
  const sshd = await startSshd({ extraConfig: [root.forceCommand] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-minimal-'));
  const key = keygen(path.join(tmp, 'id_ed25519'));
  sshd.authorize('root', publicKeyLine(key));
  const d = await startDaemon({
    workers: 1,
    daemon: `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${path.join(tmp, 'known_hosts')}"\nconnect_timeout_s = 3\n[daemon.operations]\nreboot_poll_s = 0.3\nreboot_deadline_s = 30\n`,
    toml:
      `[[host]]\nname = "mini"\naddr = "127.0.0.1"\nport = ${sshd.port}\nuser = "root"\nssh_key = "${key}"\n[host.policy]\nauto_reboot = true\n` +
      (o.verifyCommand ? `verify_command = ${JSON.stringify(o.verifyCommand)}\n` : ''),
  });
  let running = true;
  const r: Rig = {
    root,
    sshd,
    d,
    reboots: 0,
    stopRebooter: () => {
      running = false;
    },
  };
  void (async () => {
    while (running) {
      if (root.takeRebootRequest()) {
        // Down for 2 s like a real reboot: every session dropped, the port closed.
        await sshd.restart({
          dropSessions: true,
          downMs: 2000,
          newHostKey: o.newHostKeyOnReboot,
          whileDown: () => {
            root.completeReboot();
            r.reboots++;
          },
        });
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  t.teardown(async () => {
    r.stopRebooter();
    await d.stop();
    await sshd.stop();
    root.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  return r;
}

async function update(d: Daemon): Promise<{ job: any; host: any }> {
  const r = await d.request('POST', '/hosts/mini/update', {});
  if (r.status !== 202) throw new Error(`update: ${r.status} ${r.text}`);
  const job = await until(async () => {
    const j = await d.get(`/jobs/${r.body.job_id}`);
    return j.body.finished_at;
  }, 120_000, 200).then(() => jobWithHosts(d, r.body.job_id));
  return { job, host: (await d.get('/hosts/mini')).body };
}

if (!skip) {
  t.test('a real upgrade that needs a reboot ends idle on a host without procps', async (t) => {
    const r = await rig(t);
    const { d, root } = r;
    t.equal(root.installedVersion(), '1.0');
    const bootBefore = root.bootId();
    const { job, host } = await update(d);
    t.equal(job.state, 'succeeded', `job ${job.state}: ${job.hosts[0]?.error ?? ''}`);
    t.equal(host.state, 'idle', `host ${host.state}: ${host.error ?? ''}`);
    t.ok(host.last_updated, 'last_updated is set');
    t.equal(root.installedVersion(), '2.0', `apt-get upgraded ${PACKAGE} for real`);
    t.equal(r.reboots, 1, 'rebooted once');
    t.not(root.bootId(), bootBefore, 'with a new boot id');
    t.notOk(fs.existsSync(path.join(root.dir, 'usr/bin/uptime')), 'and the host has no uptime at all');
  });

  t.test('a host key changed across the reboot ends quarantined with the host-key error, not a timeout', async (t) => {
    const { d } = await rig(t, { newHostKeyOnReboot: true });
    const { job, host } = await update(d);
    t.equal(job.state, 'failed');
    t.equal(host.state, 'failed');
    t.equal(host.failed?.code, 'SSH_HOST_KEY_MISMATCH', `code ${host.failed?.code}: ${host.failed?.error}`);
    t.equal(host.failed?.previous_state, 'rebooting');
    const accept = await d.request('POST', '/hosts/mini/host-key/accept', {});
    t.equal(accept.status, 200, 'the quarantined key can be accepted');
  });

  t.test('a failing verify_command fails verification with its output', async (t) => {
    const { d } = await rig(t, { verifyCommand: 'echo "service web is down" >&2; exit 3' });
    const { host } = await update(d);
    t.equal(host.state, 'failed');
    t.equal(host.failed?.code, 'VERIFY_FAILED');
    t.equal(host.failed?.previous_state, 'verifying');
    t.match(host.failed?.error, /verify_command exited 3 after reboot: service web is down/);
  });
}
