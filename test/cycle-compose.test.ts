// Hosts with Docker Compose stacks (the simulator's compose persona: Debian
// with apt plus the Compose v2 plugin): the whole cycle updates both the
// system packages and the stacks; stacks are updated even when apt has
// nothing to do; and a compose path full of shell metacharacters reaches the
// host as one quoted argument and never runs anything else — checked on the
// simulator (the exact command strings it received, replayed through a real
// sh) and through a real shell (`localhost` with a stand-in `docker` that
// records where it ran).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from './helpers/daemon.js';
import { FULL_CYCLE, recordEvents, startCycleFleet, waitForState, type CycleFleet } from './helpers/fleet-cycle.js';

const FULL = 'sim-00001';
const STACKS_ONLY = 'sim-00002';
const EVIL = 'sim-00003';
const EVIL_PATH = "/srv/a'; touch /tmp/pwned #";
/** EVIL_PATH as one POSIX-sh single-quoted word. */
const EVIL_QUOTED = `'/srv/a'\\''; touch /tmp/pwned #'`;

let f: CycleFleet;
const before = new Map<string, { pkgs: string[]; boot: string; images: Record<string, string> }>();

t.before(async () => {
  rmSync('/tmp/pwned', { force: true });
  f = await startCycleFleet({
    sim: { hosts: 3, mix: { compose: 1 }, pending: 3, composeStacks: 2 },
    prepare: (sim) => {
      sim.setPending(STACKS_ONLY, 0);
      // EVIL's first stack lives in a directory whose name is a shell injection
      // (Compose would call its project "pwned": the base name, normalised).
      const evil = sim.host(EVIL)!;
      evil.stacks[0].dir = EVIL_PATH;
      evil.stacks[0].project = 'pwned';
    },
  });
  for (const h of f.sim.hosts) {
    const v = await f.view(h.name);
    const images: Record<string, string> = {};
    for (const s of h.stacks) images[s.dir] = s.services[0].running;
    before.set(h.name, { pkgs: v.pending_packages, boot: v.boot_id, images });
  }
  for (const name of [FULL, STACKS_ONLY, EVIL]) {
    const r = await f.d.request('POST', `/hosts/${name}/update`, {});
    if (r.status !== 202) throw new Error(`update ${name}: ${r.status} ${r.text}`);
  }
});
t.teardown(() => f?.stop());

t.test('compose persona: apt packages and both stacks updated, rebooted once, verified', async (t) => {
  const host = await waitForState(f.d, FULL, 'idle', 30_000);
  t.same(f.events.states(FULL), FULL_CYCLE);
  t.equal(host.package_manager, 'apt', 'the system package manager');
  t.equal(host.compose, true);
  t.equal(host.pending_updates, 0);
  t.ok(host.last_updated);

  const pkgs = before.get(FULL)!.pkgs;
  const progress = f.events.of(FULL, 'UpdateProgress').map((e) => `${e.package}:${e.progress}`);
  const stack = (dir: string) => [
    ...['web', 'db', 'cache'].map((s) => `${dir}:${s}:pulling`),
    ...['web', 'db', 'cache'].map((s) => `${dir}:${s}:pulled`),
    `${dir}:web:recreate`,
    `${dir}:web:recreated`,
    `${dir}:web:starting`,
    `${dir}:web:started`,
    `${dir}:db:running`,
    `${dir}:cache:running`,
  ];
  t.same(
    progress,
    [
      ...pkgs.map((p) => `${p}:unpacking`),
      ...pkgs.map((p) => `${p}:setting up`),
      ...stack('/srv/app1'),
      ...stack('/srv/app2'),
    ],
    'dpkg lines, then per stack the pull and up lines, as the tools print them',
  );

  const [done] = f.events.of(FULL, 'UpdateCompleted');
  const res = done.result;
  t.equal(res.success, true);
  t.equal(res.upgraded, 5, '3 packages and one service image per stack');
  t.equal(res.new, 0);
  t.equal(res.reboot_required, true, 'apt asked for a reboot');
  t.same(res.packages.filter((p: any) => p.kind === 'system').map((p: any) => p.name), pkgs);
  const images = res.packages.filter((p: any) => p.kind === 'compose');
  t.same(images.map((p: any) => p.name), ['/srv/app1:web', '/srv/app2:web']);
  for (const img of images) {
    const dir = img.name.slice(0, img.name.lastIndexOf(':'));
    t.equal(img.current_version, `sha256:${before.get(FULL)!.images[dir]}`, `${img.name} was on the old image`);
    t.match(img.new_version, /^sha256:[0-9a-f]{64}$/);
    t.not(img.new_version, img.current_version);
    t.equal(img.repository, 'nginx:1.27');
  }

  const v = await f.view(FULL);
  t.same(v.compose.map((s) => s.outdated), [[], []], 'no stack runs an outdated image');
  t.not(v.boot_id, before.get(FULL)!.boot);
  t.equal(v.counters.reboots, 1);
  t.equal(v.counters.commands['systemctl reboot || reboot'], 1);
  t.equal(v.counters.commands['cd /srv/app1 && docker compose pull'], 1);
  t.equal(v.counters.commands['cd /srv/app2 && docker compose up -d'], 1);
});

t.test('stacks are updated even when apt has nothing pending (no reboot needed)', async (t) => {
  const host = await waitForState(f.d, STACKS_ONLY, 'idle', 30_000);
  t.same(f.events.states(STACKS_ONLY), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->idle']);
  const [done] = f.events.of(STACKS_ONLY, 'UpdateCompleted');
  t.equal(done.result.success, true);
  t.equal(done.result.upgraded, 2);
  t.equal(done.result.reboot_required, false);
  t.same(done.result.packages.map((p: any) => p.name), ['/srv/app1:web', '/srv/app2:web']);
  t.ok(host.last_updated, 'an update that changed stacks counts as an update');
  const v = await f.view(STACKS_ONLY);
  t.same(v.compose.map((s) => s.outdated), [[], []]);
  t.equal(v.counters.reboots, 0);
  t.equal(v.counters.commands['LANG=C LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade'], 1);
});

t.test('a compose path with shell metacharacters is one quoted argument', async (t) => {
  const host = await waitForState(f.d, EVIL, 'idle', 30_000);
  t.same(f.events.states(EVIL), FULL_CYCLE, 'the stack in the odd directory updates like any other');
  const [done] = f.events.of(EVIL, 'UpdateCompleted');
  t.same(
    done.result.packages.filter((p: any) => p.kind === 'compose').map((p: any) => p.name),
    [`${EVIL_PATH}:web`, '/srv/app2:web'],
    'the service is named by the whole path',
  );
  t.ok(host.last_updated);

  const v = await f.view(EVIL);
  t.same(v.compose.map((s) => s.outdated), [[], []]);
  const received = Object.keys(v.counters.commands).filter((c) => c.includes('pwned'));
  t.same(
    received.sort(),
    [
      `cd ${EVIL_QUOTED} && docker compose images --format json`,
      `cd ${EVIL_QUOTED} && docker compose pull`,
      `cd ${EVIL_QUOTED} && docker compose up -d`,
      `cd ${EVIL_QUOTED} && for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do if [ -f "$f" ]; then echo "$f"; exit 0; fi; done; exit 1`,
    ].sort(),
    'every command names the path as one single-quoted word',
  );
  t.equal(v.counters.commands[`cd ${EVIL_QUOTED} && docker compose images --format json`], 2, 'images before and after');

  // Replay what the host received through a real sh: cd fails on the missing
  // directory and nothing after it runs — the `touch` stays inside the quotes.
  const bin = mkdtempSync(join(tmpdir(), 'tendhost-fakebin-'));
  writeFileSync(join(bin, 'docker'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(bin, 'docker'), 0o755);
  for (const cmd of received) {
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, cwd: bin });
    t.not(r.status, 0, `sh fails in cd: ${cmd.slice(0, 60)}`);
    t.match(r.stderr, "can't cd to /srv/a'; touch /tmp/pwned #", 'sh saw the whole path as the directory');
  }
  t.notOk(existsSync('/tmp/pwned'), '/tmp/pwned was never created');
});

t.test('through a real shell on localhost: the stand-in docker runs inside the odd directory', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'tendhost-compose-local-'));
  const dir = join(tmp, "a'; touch /tmp/pwned #");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web:\n    image: nginx:1.27\n');
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  const log = join(tmp, 'docker.log');
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh
printf '%s|%s\\n' "$(pwd)" "$*" >> '${log}'
case "$*" in
  "compose version --short") echo 2.29.7 ;;
  "compose images --format json") echo '[{"ID":"sha256:${'a'.repeat(64)}","ContainerName":"pwned-web-1","Repository":"nginx","Tag":"1.27","Platform":"linux/amd64","Size":1}]' ;;
  "compose config --images") echo nginx:1.27 ;;
  *) exit 1 ;;
esac
`,
  );
  chmodSync(join(bin, 'docker'), 0o755);

  const d = await startDaemon({
    toml: `[[host]]\nname = "localhost"\naddr = "localhost"\ncompose_paths = [${JSON.stringify(dir)}]\n[host.policy]\nauto_reboot = false\n`,
    workers: 1,
    env: { PATH: `${bin}:${process.env.PATH}` },
  });
  t.teardown(() => d.stop());
  const events = await recordEvents(d);
  t.teardown(() => events.close());
  const r = await d.request('POST', '/hosts/localhost/update', { dry_run: true });
  t.equal(r.status, 202);
  const done = await events.waitFor('localhost', (e) => e.type === 'UpdateCompleted', 90_000);
  await waitForState(d, 'localhost', 'idle', 30_000);
  t.equal(done.result.success, true, done.result.error ?? 'dry run succeeded');
  t.equal(done.result.dry_run, true);
  const compose = done.result.packages.filter((p: any) => p.kind === 'compose');
  t.same(compose, [
    {
      name: `${dir}:web`,
      current_version: `sha256:${'a'.repeat(64)}`,
      new_version: `sha256:${'a'.repeat(64)}`,
      arch: 'linux/amd64',
      repository: 'nginx:1.27',
      kind: 'compose',
    },
  ]);
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  t.match(calls[0], /\|compose version --short$/, 'first the Compose version probe');
  t.same(calls.slice(1), [`${dir}|compose images --format json`, `${dir}|compose config --images`], 'then docker ran in the odd directory, with plain arguments');
  t.notOk(existsSync('/tmp/pwned'), '/tmp/pwned was never created');
});
