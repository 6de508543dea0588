// GET /hosts/:name/inventory through the daemon: the shipped `localhost` host
// must describe this very machine (checked against dpkg-query, uname, hostname,
// /proc/meminfo, df and ip run here), answers are cached with a TTL and
// ?refresh=true collects anew; simulator hosts describe their persona (plain
// commands, or osquery where the host has it); an unknown host is a 404.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { APT_CATALOG } from '../harness/simulator/personas/apt-catalog.js';
import { RPM_CATALOG } from '../harness/simulator/personas/rpm-catalog.js';
import { SIM_CPU_MODEL, SIM_MEM_KB } from '../harness/simulator/personas/inventory.js';
import { startCycleFleet, type CycleFleet } from './helpers/fleet-cycle.js';
import { LOCALHOST_TOML } from '../harness/daemon.js';

const DEB = 'sim-00001';
const RPM = 'sim-00002';
const COMPOSE = 'sim-00003';
const OSQ = 'sim-00004';

const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });

let f: CycleFleet;
t.before(async () => {
  f = await startCycleFleet({
    // debian, fedora, compose, debian (round robin), 2 stacks on the compose host
    sim: { hosts: 4, mix: { debian: 1, fedora: 1, compose: 1 }, pending: 3, composeStacks: 2 },
    prepare: (sim) => {
      sim.host(OSQ)!.osquery = true;
    },
    toml: LOCALHOST_TOML,
    operations: { inventory_ttl_s: 300 },
  });
});
t.teardown(() => f?.stop());

t.test('localhost: the inventory is this machine', async (t) => {
  const r = await f.d.get('/hosts/localhost/inventory');
  t.equal(r.status, 200, r.text.slice(0, 200));
  const inv = r.body;
  t.equal(inv.source, 'commands', 'no osquery here');

  t.equal(inv.packages.length, Number(sh('dpkg-query -W | wc -l').trim()), `package count equals dpkg-query -W | wc -l (${inv.packages.length})`);
  const bash = sh("dpkg-query -W -f='${Version}\\t${Architecture}' bash").split('\t');
  t.same(inv.packages.find((p: any) => p.name === 'bash'), { name: 'bash', version: bash[0], arch: bash[1], source: 'deb' });

  t.equal(inv.system.hostname, sh('hostname').trim());
  t.equal(inv.system.kernel, sh('uname -r').trim());
  t.equal(inv.system.arch, sh('uname -m').trim());
  const osr = Object.fromEntries(
    readFileSync('/etc/os-release', 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
  );
  t.equal(inv.system.os_name, osr.NAME);
  t.equal(inv.system.os_version, osr.VERSION_ID);
  t.equal(inv.system.os_codename, osr.VERSION_CODENAME || null);
  const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  t.ok(Math.abs(inv.system.uptime_s - up) < 30, `uptime ${inv.system.uptime_s} s ≈ ${up} s`);

  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  t.equal(inv.hardware.memory_bytes, memKb * 1024, 'memory from /proc/meminfo');
  t.equal(inv.hardware.cpu_cores, Number(sh('nproc').trim()));
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].replace(/\s+/g, ' ').trim() ?? null;
  t.equal(inv.hardware.cpu_model, model);

  // df: the block-device filesystems with their sizes (free space moves; sizes do not).
  const df = sh('df -P -B1')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => /^(\S+)\s+(\d+)\s+\d+\s+(\d+)\s+\S+\s+(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && m[1].startsWith('/dev/') && !m[1].startsWith('/dev/loop'))
    .map((m) => ({ device: m[1], size_bytes: Number(m[2]), mount: m[4], free: Number(m[3]) }));
  t.ok(df.length > 0, 'this machine has at least one block-device filesystem');
  t.same(
    inv.hardware.disks.filter((d: any) => d.device.startsWith('/dev/')).map((d: any) => ({ device: d.device, size_bytes: d.size_bytes, mount: d.mount })),
    df.map(({ device, size_bytes, mount }) => ({ device, size_bytes, mount })),
    'disks from df',
  );
  for (const d of inv.hardware.disks) {
    const mine = df.find((x) => x.mount === d.mount);
    if (mine) t.ok(Math.abs(d.free_bytes - mine.free) < 0.02 * mine.size_bytes + 64 * 1024 * 1024, `${d.mount}: free ${d.free_bytes} ≈ ${mine.free}`);
  }

  const ip = JSON.parse(sh('ip -j addr')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  t.same(
    inv.hardware.interfaces,
    ip.map((i) => ({ name: i.ifname, addresses: i.addr_info.map((a) => `${a.local}/${a.prefixlen}`) })),
    'interfaces and addresses from ip -j addr',
  );
  t.ok(inv.hardware.interfaces.some((i: any) => i.name === 'lo' && i.addresses.includes('127.0.0.1/8')));

  const ps = spawnSync('sh', ['-c', "docker ps -a --format '{{json .}}'"], { encoding: 'utf8' });
  const running = ps.status === 0 ? ps.stdout.split('\n').filter((l) => l.startsWith('{')).length : 0;
  t.equal(inv.docker.containers.length, running, `containers as docker ps lists them (${running})`);
});

t.test('localhost: cached for the TTL, ?refresh=true collects again', async (t) => {
  const a = await f.d.get('/hosts/localhost/inventory');
  await new Promise((r) => setTimeout(r, 20));
  const b = await f.d.get('/hosts/localhost/inventory');
  t.equal(b.status, 200);
  t.equal(b.body.collected_at, a.body.collected_at, 'the second call is the cached answer');
  const c = await f.d.get('/hosts/localhost/inventory?refresh=true');
  t.equal(c.status, 200);
  t.ok(Date.parse(c.body.collected_at) > Date.parse(a.body.collected_at), `refreshed: ${a.body.collected_at} → ${c.body.collected_at}`);
  const d = await f.d.get('/hosts/localhost/inventory');
  t.equal(d.body.collected_at, c.body.collected_at, 'the refreshed answer is the new cache');
});

t.test('an unknown host is a 404', async (t) => {
  const r = await f.d.get('/hosts/no-such-host/inventory');
  t.equal(r.status, 404);
  t.equal(r.body.code, 'HOST_NOT_FOUND');
});

function common(t: any, inv: any, name: string) {
  const h = f.sim.host(name)!;
  t.equal(inv.system.hostname, name);
  t.equal(inv.system.kernel, h.kernel);
  t.equal(inv.system.arch, 'x86_64');
  t.ok(Math.abs(inv.system.uptime_s - (Date.now() - h.bootedAt) / 1000) < 30, 'uptime from its boot time');
  t.equal(inv.hardware.cpu_model, SIM_CPU_MODEL);
  t.equal(inv.hardware.cpu_cores, 2);
  t.equal(inv.hardware.memory_bytes, SIM_MEM_KB * 1024);
  t.same(
    inv.hardware.disks.map((d: any) => [d.mount, d.device, d.size_bytes, d.free_bytes]),
    [
      ['/', '/dev/vda1', 21_003_628_544, 21_003_628_544 - 6_245_859_328],
      ['/boot/efi', '/dev/vda15', 129_720_320, 129_720_320 - 12_124_160],
    ],
    'block devices only (tmpfs left out)',
  );
  t.same(inv.hardware.interfaces, [
    { name: 'lo', addresses: ['127.0.0.1/8'] },
    { name: 'eth0', addresses: [`${h.addr}/8`] },
  ]);
}

t.test('a Debian simulator host: os-release, kernel, dpkg packages with pending ones at their old version', async (t) => {
  const r = await f.d.get(`/hosts/${DEB}/inventory`);
  t.equal(r.status, 200, r.text.slice(0, 200));
  const inv = r.body;
  t.equal(inv.source, 'commands');
  t.same([inv.system.os_name, inv.system.os_version, inv.system.os_codename], ['Debian GNU/Linux', '12', 'bookworm']);
  common(t, inv, DEB);
  t.equal(inv.packages.length, APT_CATALOG.length);
  t.ok(inv.packages.every((p: any) => p.source === 'deb'));
  const pending = f.sim.host(DEB)!.pending;
  t.equal(pending.length, 3);
  for (const p of pending) t.equal(inv.packages.find((x: any) => x.name === p.name)?.version, p.from, `${p.name} still at ${p.from}`);
  t.same(inv.docker, { containers: [], images: [] });
});

t.test('a Fedora simulator host: rpm packages with epochs', async (t) => {
  const inv = (await f.d.get(`/hosts/${RPM}/inventory`)).body;
  t.equal(inv.source, 'commands');
  t.same([inv.system.os_name, inv.system.os_version, inv.system.os_codename], ['Fedora Linux', '39', null]);
  common(t, inv, RPM);
  t.equal(inv.packages.length, RPM_CATALOG.length);
  t.ok(inv.packages.every((p: any) => p.source === 'rpm'));
  const openssl = inv.packages.find((p: any) => p.name === 'openssl-libs');
  const pendingOpenssl = f.sim.host(RPM)!.pending.find((p) => p.name === 'openssl-libs');
  t.equal(openssl.version, pendingOpenssl ? pendingOpenssl.from : '1:3.1.4-3.fc39', 'version with its epoch');
});

t.test('a compose simulator host: its containers and images', async (t) => {
  const inv = (await f.d.get(`/hosts/${COMPOSE}/inventory`)).body;
  common(t, inv, COMPOSE);
  t.same(
    inv.docker.containers.map((c: any) => [c.name, c.image, c.state]),
    ['app1', 'app2'].flatMap((p) => [
      [`${p}-web-1`, 'nginx:1.27', 'running'],
      [`${p}-db-1`, 'postgres:16', 'running'],
      [`${p}-cache-1`, 'redis:7', 'running'],
    ]),
  );
  const stacks = f.sim.host(COMPOSE)!.stacks;
  t.same(inv.docker.containers.map((c: any) => c.id), stacks.flatMap((s) => s.services.map((x) => x.running.slice(0, 12))));
  const images = new Set(stacks.flatMap((s) => s.services.map((x) => x.local)));
  t.equal(inv.docker.images.length, images.size, 'one local image per image the stacks use (stacks share the host image store)');
  t.ok(inv.docker.images.some((i: any) => i.repository === 'postgres' && i.tag === '16'));
});

t.test('a host with osquery: source "osquery", and it says the same as the commands do', async (t) => {
  const inv = (await f.d.get(`/hosts/${OSQ}/inventory`)).body;
  t.equal(inv.source, 'osquery');
  t.same([inv.system.os_name, inv.system.os_version, inv.system.os_codename], ['Debian GNU/Linux', '12', 'bookworm']);
  common(t, inv, OSQ);
  const deb = (await f.d.get(`/hosts/${DEB}/inventory`)).body;
  const byName = (inv: any) => Object.fromEntries(inv.packages.map((p: any) => [p.name, p.version]));
  const pendingHere = new Set(f.sim.host(OSQ)!.pending.map((p) => p.name));
  const pendingThere = new Set(f.sim.host(DEB)!.pending.map((p) => p.name));
  const a = byName(inv);
  const b = byName(deb);
  t.same(Object.keys(a).sort(), Object.keys(b).sort(), 'the same package names as dpkg-query lists');
  const same = Object.keys(a).filter((n) => !pendingHere.has(n) && !pendingThere.has(n));
  t.ok(same.length > 100);
  t.same(same.map((n) => a[n]), same.map((n) => b[n]), 'and the same versions where neither host has an upgrade pending');
  const v = await f.view(OSQ);
  t.ok(
    Object.keys(v.counters.commands).some((c) => c.startsWith("echo '@@tendhost-osquery@@ os'; osqueryi --json 'SELECT name, version")),
    'the host was asked through osqueryi',
  );
});
