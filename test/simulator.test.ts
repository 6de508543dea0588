// The fleet simulator answers tendhost's exact command strings like the real
// tools, changes host state on upgrade/reboot, and injects faults.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { loadSsh2 } from '../workers/exec/ssh2-module.js';
import type { Client as SshClient } from 'ssh2';
import { startSimulator, type Simulator, type SimHost } from '../harness/simulator/index.js';
import { generateParseable } from '../harness/simulator/keys.js';
import { CMD, shellQuote } from '../workers/pkg/commands.js';
import { manifestUrl, parseImageRef } from '../workers/pkg/image-ref.js';

// The same ssh2 build the daemon uses on this runtime (TENDHOST_SSH2_PATCH).
const { ssh2 } = loadSsh2();

const { Client, utils } = ssh2;

const dir = mkdtempSync(join(tmpdir(), 'tendhost-simtest-'));
const keyPath = join(dir, 'client_ed25519');

/** A random 127.x.y.1 so parallel test files never share addresses. */
function randomBase(): string {
  return `127.${60 + Math.floor(Math.random() * 180)}.${Math.floor(Math.random() * 200)}.1`;
}

interface ConnectOpts {
  user?: string;
  privateKey?: string | Buffer;
  hostVerifier?: (key: Buffer) => boolean;
}

function connect(h: SimHost, o: ConnectOpts = {}): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: h.addr,
      port: h.port,
      username: o.user ?? (h.user === 'root' ? 'root' : 'deploy'),
      privateKey: o.privateKey ?? readFileSync(keyPath),
      readyTimeout: 5000,
      hostVerifier: o.hostVerifier,
    });
  });
}

interface Ran {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Exec and collect; resolves when the channel closes (code null: no exit status came). */
function run(c: SshClient, cmd: string, timeoutMs = 5000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      const timer = setTimeout(() => reject(new Error(`timeout: ${cmd}`)), timeoutMs);
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('exit', (c: number | null) => (code = c));
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code });
      });
    });
  });
}

async function once(h: SimHost, cmd: string, o?: ConnectOpts): Promise<Ran> {
  const c = await connect(h, o);
  try {
    return await run(c, cmd);
  } finally {
    c.end();
  }
}

function connectError(h: SimHost, o?: ConnectOpts): Promise<Error & { code?: string; level?: string }> {
  return connect(h, o).then(
    (c) => {
      c.end();
      throw new Error(`${h.name}: connection unexpectedly succeeded`);
    },
    (err: Error) => err,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a mixed fleet of 20 hosts with faults', async (t) => {
  const sim: Simulator = await startSimulator({
    hosts: 20,
    baseAddr: randomBase(),
    port: 0,
    clientKeyPath: keyPath,
    rebootDownMs: 400,
    slowMs: 300,
    faults: ['auth=sim-00002', 'refused=sim-00003', 'changed-key=sim-00009'],
    users: ['deploy-nosudo=sim-00004', 'deploy=sim-00005'],
    seed: 7,
  });
  t.teardown(() => sim.stop());
  const clean = (persona: string) =>
    sim.hosts.filter((h) => h.persona === persona && h.faults.size === 0 && h.user === 'root');
  const [deb1, deb2, deb3, deb4] = clean('debian');
  const [fed1] = clean('fedora');
  const [cmp1] = clean('compose');
  t.ok(deb4 && fed1 && cmp1, 'the default mix has all three personas');

  t.test('the toml fragment lists every host with its key and persona tag', async (t) => {
    t.equal((sim.toml.match(/^\[\[host\]\]$/gm) ?? []).length, 20);
    t.match(sim.toml, `name = "${deb1.name}"\naddr = "${deb1.addr}"\nport = ${deb1.port}\nuser = "root"\nssh_key = "${keyPath}"\ntags = ["debian", "sim"]`);
    t.match(sim.toml, /compose_paths = \["\/srv\/app1"\]/);
    t.match(sim.toml, /user = "deploy"/);
    t.match(readFileSync(keyPath, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/, 'client key written in OpenSSH format');
  });

  t.test('key auth works and identity commands answer', async (t) => {
    const c = await connect(deb1);
    t.teardown(() => c.end());
    t.same(await run(c, CMD.userId), { stdout: '0\n', stderr: '', code: 0 });
    t.match((await run(c, CMD.osRelease)).stdout, /^PRETTY_NAME="Debian GNU\/Linux 12 \(bookworm\)"\n/);
    t.equal((await run(c, CMD.detectTools)).stdout, '/usr/bin/apt-get\n');
    t.match((await run(c, CMD.bootId)).stdout, /^[0-9a-f-]{36}\n$/);
    t.match((await run(c, CMD.health)).stdout, /^\d+\.\d\d \d+\.\d\d\n$/, "/proc/uptime: seconds up and idle");
    t.same(await run(c, 'frobnicate --all'), { stdout: '', stderr: 'sh: 1: frobnicate: not found\n', code: 127 });
    t.equal((await run(c, CMD.composeVersion('v2'))).code, 127, 'no docker on a plain debian host');
  });

  t.test('another client key is rejected', async (t) => {
    const other = generateParseable().private;
    const err = await connectError(deb1, { privateKey: other });
    t.equal(err.level, 'client-authentication');
  });

  t.test('a host with the auth fault rejects the right key', async (t) => {
    const err = await connectError(sim.host('sim-00002')!);
    t.equal(err.level, 'client-authentication');
    t.ok(sim.host('sim-00002')!.counters.authRejected >= 1);
  });

  t.test('a refused host refuses TCP', async (t) => {
    const h = sim.host('sim-00003')!;
    t.not(h.port, 0, 'it still has a real port in the toml');
    t.equal((await connectError(h)).code, 'ECONNREFUSED');
  });

  t.test('a changed-key host presents a different host key', async (t) => {
    const seen: string[] = [];
    const verifier = (key: Buffer) => {
      seen.push('SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, ''));
      return true;
    };
    (await connect(deb1, { hostVerifier: verifier })).end();
    (await connect(sim.host('sim-00009')!, { hostVerifier: verifier })).end();
    t.same(seen, [sim.hostKeyFingerprint, sim.changedHostKeyFingerprint]);
    t.not(seen[0], seen[1]);
  });

  t.test('sudo without a password fails with the sudo message; with one it runs as root', async (t) => {
    const nosudo = sim.host('sim-00004')!;
    t.same(await once(nosudo, CMD.sudoCheck), { stdout: '', stderr: 'sudo: a password is required\n', code: 1 });
    t.equal((await once(nosudo, CMD.userId)).stdout, '1000\n');
    const err = await connectError(nosudo, { user: 'root' });
    t.equal(err.level, 'client-authentication', 'only the persona user may log in');
    const sudo = sim.host('sim-00005')!;
    t.same(await once(sudo, CMD.sudoCheck), { stdout: '', stderr: '', code: 0 });
    t.equal((await once(sudo, `sudo -n ${CMD.userId}`)).stdout, '0\n');
    if (sudo.persona !== 'fedora') {
      const r = await once(sudo, CMD.aptUpgrade);
      t.equal(r.code, 100, 'apt-get upgrade as a plain user fails');
      t.match(r.stderr, /are you root\?/);
    }
  });

  t.test('debian: simulate lists the pending packages, upgrade empties the list', async (t) => {
    const c = await connect(deb2);
    t.teardown(() => c.end());
    const sim1 = await run(c, CMD.aptSimulate);
    t.equal(sim1.code, 0);
    t.equal(sim1.stdout.match(/^Inst /gm)?.length, 5);
    t.equal(sim1.stdout.match(/^Conf /gm)?.length, 5);
    t.match(sim1.stdout, /^Reading package lists\.\.\.\nBuilding dependency tree\.\.\.\nReading state information\.\.\.\nCalculating upgrade\.\.\.\nThe following packages will be upgraded:\n  /);
    t.match(sim1.stdout, /\n5 upgraded, 0 newly installed, 0 to remove and 0 not upgraded\.\nInst /);
    t.match(sim1.stdout, /^Inst \S+ \[[^\]]+\] \(\S+ Debian[^)]*\[(amd64|all)\]\)$/m);

    const refresh = await run(c, CMD.aptRefresh);
    t.equal(refresh.code, 0);
    t.match(refresh.stdout, /^Get:1 http:\/\/mirror\.example\/debian bookworm InRelease/);
    t.equal(await run(c, CMD.aptRebootRequired).then((r) => r.stdout), '', 'no reboot needed before');

    const up = await run(c, `sudo -n ${CMD.aptUpgrade}`);
    t.equal(up.code, 0);
    t.equal(up.stdout.match(/^Setting up /gm)?.length, 5);
    t.equal(up.stdout.match(/^Unpacking \S+ \(\S+\) over \(\S+\) \.\.\.$/gm)?.length, 5);

    const sim2 = await run(c, CMD.aptSimulate);
    t.notMatch(sim2.stdout, /^Inst /m);
    t.match(sim2.stdout, /\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded\.\n$/);
    const rr = await run(c, CMD.aptRebootRequired);
    t.match(rr.stdout, /^reboot-required\n\S+\n/);
    t.same(await run(c, `sudo -n sh -c ${shellQuote(CMD.aptRebootRequired)}`), rr, 'sudo -n sh -c wrapper');
    t.equal(sim.host(deb2.name)!.pending.length, 0);
  });

  t.test('reboot drops the connection, refuses for the down time, comes back with a new boot id', async (t) => {
    const before = (await once(deb2, CMD.bootId)).stdout;
    const c = await connect(deb2);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.on('error', () => {});
    const r = await run(c, CMD.reboot).catch((e: Error) => ({ stdout: '', stderr: e.message, code: null }));
    t.equal(r.code, null, 'no exit status: the connection just dropped');
    await closed;
    t.equal((await connectError(deb2)).code, 'ECONNREFUSED', 'refused while rebooting');
    await sleep(600);
    const c2 = await connect(deb2);
    t.teardown(() => c2.end());
    const after = (await run(c2, CMD.bootId)).stdout;
    t.not(after, before, 'new boot id');
    t.equal((await run(c2, CMD.aptRebootRequired)).stdout, '', 'reboot-required cleared');
    t.equal(sim.host(deb2.name)!.counters.reboots, 1);
  });

  t.test('fedora: check-update exits 100, then 0 after the upgrade; needs-restarting follows', async (t) => {
    const c = await connect(fed1);
    t.teardown(() => c.end());
    t.equal((await run(c, CMD.detectTools)).stdout, '/usr/bin/dnf\n/usr/bin/yum\n');
    const cu = await run(c, CMD.rpmCheckUpdate('dnf'));
    t.equal(cu.code, 100);
    t.match(cu.stdout, /^\n(\S+\.(x86_64|noarch) +\S+ +updates\n){5}$/);
    const nr0 = await run(c, CMD.rpmNeedsRestarting('dnf'));
    t.equal(nr0.code, 0);
    t.equal(nr0.stdout, 'No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n');
    const dry = await run(c, CMD.rpmUpgradeDryRun('dnf'));
    t.same([dry.code, dry.stderr], [1, 'Operation aborted.\n']);
    t.match(dry.stdout, /Upgrade  5 Packages\n/);
    const up = await run(c, CMD.rpmUpgrade('dnf'));
    t.equal(up.code, 0);
    t.match(up.stdout, /\nComplete!\n$/);
    const cu2 = await run(c, CMD.rpmCheckUpdate('dnf'));
    t.same(cu2, { stdout: '', stderr: '', code: 0 });
    const nr1 = await run(c, CMD.rpmNeedsRestarting('dnf'));
    t.equal(nr1.code, 1);
    t.match(nr1.stdout, /Reboot is required to fully utilize these updates\./);
    t.equal((await run(c, CMD.rpmNeedsRestarting('yum'))).code, 127, 'no standalone needs-restarting');
  });

  t.test('compose: the registry moved web only; pull then up recreates it', async (t) => {
    const c = await connect(cmp1);
    t.teardown(() => c.end());
    const d = '/srv/app1';
    t.equal((await run(c, CMD.composeVersion('v2'))).stdout, '2.26.1\n');
    t.equal((await run(c, CMD.composeVersion('v1'))).code, 127);
    t.same(await run(c, CMD.composeFind(d)), { stdout: 'compose.yaml\n', stderr: '', code: 0 });
    t.same(await run(c, CMD.composeFind('/srv/nope')), { stdout: '', stderr: "sh: 1: cd: can't cd to /srv/nope\n", code: 2 });
    t.match((await run(c, CMD.composeConfig('v2', d))).stdout, /^name: app1\nservices:\n  web:\n    image: nginx:1\.27\n/);
    const refs = ['nginx:1.27', 'postgres:16', 'redis:7'];
    const digests = async () =>
      new Map((await run(c, CMD.imageDigests(refs))).stdout.trim().split('\n').map((l) => [l.split('\t')[0], JSON.parse(l.split('\t')[2])[0]]));
    const head = async (ref: string) =>
      /Docker-Content-Digest: (\S+)/.exec((await run(c, CMD.registryHead(manifestUrl(parseImageRef(ref))))).stdout)?.[1];
    const before = await digests();
    t.not(`nginx@${await head('nginx:1.27')}`, before.get('nginx:1.27'), 'web: the registry has a newer digest');
    t.equal(`postgres@${await head('postgres:16')}`, before.get('postgres:16'), 'db: the same');
    t.match((await run(c, CMD.composePull('v2', d, ['web']))).stderr, / web Pulled /);
    t.match((await run(c, CMD.composeUp('v2', d, ['web']))).stderr, / Container app1-web-1 {2}Recreated\n/);
    const after = await digests();
    t.equal(after.get('nginx:1.27'), `nginx@${await head('nginx:1.27')}`, 'web is now local');
    const ids = (await run(c, CMD.composePs('v2', d))).stdout.trim().split('\n');
    t.equal(ids.length, 3);
    t.match((await run(c, CMD.containerStates(ids))).stdout, /\tweb\tsha256:[0-9a-f]{64}\trunning\t\n/);
    t.equal((await run(c, CMD.aptSimulate)).stdout.match(/^Inst /gm)?.length, 5, 'its OS is Debian with apt');
  });

  t.test('lock, upgrade failure and timeout faults, flipped through the control endpoint', async (t) => {
    const post = (path: string, body: unknown) =>
      fetch(sim.controlUrl + path, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    t.equal((await post('/fault', { host: deb3.name, fault: 'lock', on: true })).status, 200);
    const locked = await once(deb3, CMD.aptUpgrade);
    t.same(locked, {
      stdout: '',
      stderr:
        'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n' +
        'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n',
      code: 100,
    });
    // With apt's DPkg::Lock::Timeout the host waits that long for the holder, then fails the same way…
    const t0 = Date.now();
    const waited = await once(deb3, CMD.aptUpgradeWaiting(1));
    t.equal(waited.code, 100, 'still locked after the wait');
    t.ok(Date.now() - t0 >= 900, `waited ${Date.now() - t0} ms for the lock`);
    t.equal(sim.host(deb3.name)!.counters.commands[CMD.aptUpgrade], 2, 'counted as the upgrade it is');
    // …and goes on when the holder lets go during the wait.
    const pendingBefore = sim.host(deb3.name)!.pending.length;
    const freed = once(deb3, CMD.aptUpgradeWaiting(30));
    await new Promise((r) => setTimeout(r, 500));
    await post('/fault', { host: deb3.name, fault: 'lock', on: false });
    t.equal((await freed).code, 0, 'upgraded once the lock was released');
    t.equal(sim.host(deb3.name)!.pending.length, 0, `all ${pendingBefore} pending packages upgraded`);
    sim.setPending(deb3.name, pendingBefore);
    await post('/fault', { host: deb3.name, fault: 'upgrade-fail', on: true });
    const failed = await once(deb3, CMD.aptUpgrade);
    t.equal(failed.code, 100);
    t.match(failed.stderr, /^dpkg: error processing package \S+ \(--configure\):\n/);
    t.match(failed.stderr, /E: Sub-process \/usr\/bin\/dpkg returned an error code \(1\)\n$/);
    t.equal(sim.host(deb3.name)!.pending.length, 1, 'the failing package stays pending');

    await post('/fault', { host: deb4.name, fault: 'timeout', on: true });
    const c = await connect(deb4);
    t.teardown(() => c.end());
    t.equal((await run(c, CMD.userId)).code, 0, 'probes still answer');
    await t.rejects(run(c, CMD.aptSimulate, 300), /timeout/);

    t.equal((await post('/fault', { host: deb1.name, fault: 'refused', on: true })).status, 200);
    t.equal((await connectError(deb1)).code, 'ECONNREFUSED');
    await post('/fault', { host: deb1.name, fault: 'refused', on: false });
    t.equal((await once(deb1, 'true')).code, 0, 'listening again');

    t.equal((await post('/fault', { host: deb1.name, fault: 'nope', on: true })).status, 400);
    const view = (await fetch(`${sim.controlUrl}/hosts/${deb3.name}`).then((r) => r.json())) as {
      counters: { commands: Record<string, number> };
    };
    t.equal(view.counters.commands[CMD.aptUpgrade], 4, 'the control endpoint counts what the host received');
    const all = (await fetch(`${sim.controlUrl}/hosts`).then((r) => r.json())) as { hosts: unknown[] };
    t.equal(all.hosts.length, 20);
  });

  t.test('reboot variants: never back, back with the same boot id', async (t) => {
    const [, , , , , never, same] = clean('debian');
    await sim.setFault([never.name], 'reboot-never', true);
    await sim.setFault([same.name], 'reboot-same-bootid', true);
    const sameBefore = (await once(same, CMD.bootId)).stdout;
    for (const h of [never, same]) {
      const c = await connect(h);
      c.on('error', () => {});
      await run(c, CMD.reboot).catch(() => {});
    }
    await sleep(600);
    t.equal((await connectError(never)).code, 'ECONNREFUSED', 'reboot-never stays down');
    t.ok(sim.host(never.name)!.dead);
    t.equal((await once(same, CMD.bootId)).stdout, sameBefore, 'same boot id after the "reboot"');
    await sim.setFault([never.name], 'reboot-never', false);
    t.equal((await once(never, 'true')).code, 0, 'lifting reboot-never power-cycles the host');
  });

  t.test('slow: the handshake starts only after --slow-ms', async (t) => {
    const [, , , , , , , slow] = clean('debian');
    await sim.setFault([slow.name], 'slow', true);
    const t0 = Date.now();
    (await connect(slow)).end();
    t.ok(Date.now() - t0 >= 250, `took ${Date.now() - t0} ms`);
  });

  t.test('drop cuts the connection on a package command; disk-full fails the upgrade and keeps the packages', async (t) => {
    const debs = clean('debian');
    const [full, dropping] = [debs.at(-2)!, debs.at(-1)!];
    const fed = clean('fedora').at(-1)!;
    await sim.setFault([dropping.name], 'drop', true);
    const c = await connect(dropping);
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    c.on('error', () => {});
    t.equal((await run(c, CMD.userId)).code, 0, 'probes still answer');
    const cut = await run(c, CMD.aptSimulate, 3000);
    t.same(cut, { stdout: '', stderr: '', code: null }, 'the package command ends with the connection, without an exit status');
    await closed;
    t.equal(sim.host(dropping.name)!.counters.dropped, 1, 'counted as a drop');
    await sim.setFault([dropping.name], 'drop', false);

    await sim.setFault([full.name, fed.name], 'disk-full', true);
    const pending = sim.host(full.name)!.pending.length;
    const apt = await once(full, CMD.aptUpgrade);
    t.same(apt, { stdout: '', stderr: "E: You don't have enough free space in /var/cache/apt/archives/.\n", code: 100 });
    t.equal(sim.host(full.name)!.pending.length, pending, 'nothing was upgraded');
    const dnf = await once(fed, CMD.rpmUpgrade('dnf'));
    t.equal(dnf.code, 1);
    t.match(dnf.stderr, /^Running transaction check\n[\s\S]*Error: Transaction test error:\n  installing package \S+ needs \d+MB more space on the \/ filesystem\n/);
    await sim.setFault([full.name, fed.name], 'disk-full', false);
  });

  t.test('dnf waits for the lock holder, then upgrades', async (t) => {
    const fed2 = clean('fedora')[1];
    await sim.setFault([fed2.name], 'lock', true);
    const c = await connect(fed2);
    t.teardown(() => c.end());
    const pending = run(c, CMD.rpmUpgrade('dnf'));
    await sleep(400);
    await sim.setFault([fed2.name], 'lock', false);
    const r = await pending;
    t.equal(r.code, 0);
    t.match(r.stdout, /^Waiting for process with pid 4242 to finish\.\nLast metadata expiration check: /);
    t.match(r.stdout, /\nComplete!\n$/);
  });
});

t.test('scale: 200 hosts, handshake + exec at concurrency 50, all answer', async (t) => {
  const sim = await startSimulator({ hosts: 200, baseAddr: randomBase(), port: 0, clientKeyPath: keyPath, controlPort: null });
  t.teardown(() => sim.stop());
  const key = readFileSync(keyPath);
  const bootIds = new Map<string, string>();
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < sim.hosts.length) {
      const h = sim.hosts[next++];
      const r = await once(h, CMD.bootId, { privateKey: key });
      bootIds.set(h.name, r.stdout.trim());
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  const ms = Date.now() - started;
  t.equal(bootIds.size, 200);
  for (const h of sim.hosts) if (bootIds.get(h.name) !== h.bootId) t.fail(`${h.name} answered a wrong boot id`);
  t.comment(`200 handshakes+exec in ${ms} ms (${Math.round((200 * 1000) / ms)} hosts/s, client and server in one process)`);
});
