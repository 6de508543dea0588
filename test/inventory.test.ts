// Inventory: the plain-command collector run on this very machine (checked
// against what Node and the kernel say), the parsers against captures, and
// the osquery collector against osquery's JSON.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Value } from 'typebox/value';
import { Inventory } from '../common/schemas/inventory.js';
import { recordingLocalExecutor } from './helpers/exec.js';
import { collectInventory } from '../workers/inventory/collect.js';
import { inventoryCommand, inventoryFromCommands, INVENTORY_MARKER, partsFor } from '../workers/inventory/commands.js';
import { isRealDisk, parseDf, parseDpkgQuery, parseIpAddr, parseMemTotal, parseRpmQa, splitSections } from '../workers/inventory/commands-parse.js';
import { inventoryFromOsquery, maskToPrefix, OSQUERY_MARKER, osqueryCommand } from '../workers/inventory/osquery.js';
import { detect } from '../workers/pkg/detect.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

const CTX = { timeoutMs: 60_000, maxOutputBytes: 16 * 1024 * 1024 };
const HOST = { compose_paths: [], docker: { compose_version: null, pull_before_update: true } };
const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });

t.test('plain commands on this machine: one round trip, real values', async (t) => {
  const { exec, calls } = recordingLocalExecutor();
  const detected = await detect(exec, CTX, HOST);
  t.equal(detected.system, 'apt', 'this machine is Debian');
  calls.length = 0;

  const inv = await collectInventory(exec, CTX, { ...detected, osquery: false });
  t.equal(calls.length, 1, 'a single command');
  t.ok(Value.Check(Inventory, inv), 'matches the schema');
  t.equal(inv.source, 'commands');

  t.equal(inv.system.hostname, os.hostname());
  t.equal(inv.system.kernel, os.release());
  t.equal(inv.system.arch, sh('uname -m').trim());
  t.equal(inv.system.os_name, 'Debian GNU/Linux');
  t.equal(inv.system.os_version, '12');
  t.equal(inv.system.os_codename, 'bookworm');
  const uptime = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));
  t.ok(inv.system.uptime_s !== null && Math.abs(inv.system.uptime_s - uptime) <= 5, `uptime ${inv.system.uptime_s} ≈ ${uptime}`);

  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  t.equal(inv.hardware.memory_bytes, memKb * 1024, 'MemTotal of /proc/meminfo');
  t.equal(inv.hardware.cpu_cores, Number(sh('nproc').trim()));
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.replace(/\s+/g, ' ').trim() ?? null;
  t.equal(inv.hardware.cpu_model, model);
  const root = inv.hardware.disks.find((d) => d.mount === '/');
  t.ok(root && root.size_bytes > 0 && root.free_bytes <= root.size_bytes, 'the root file system is listed');
  t.ok(inv.hardware.disks.every((d) => isRealDisk(d.device)), 'no tmpfs and friends');
  const lo = inv.hardware.interfaces.find((i) => i.name === 'lo');
  t.ok(lo?.addresses.includes('127.0.0.1/8'), 'loopback with its prefix');

  const dpkgCount = Number(sh('dpkg-query -W | wc -l').trim());
  t.equal(inv.packages.length, dpkgCount, `${dpkgCount} packages, as dpkg-query -W | wc -l`);
  t.ok(inv.packages.every((p) => p.source === 'deb' && p.name && p.version));
  const dpkgVersion = sh("dpkg-query -W -f='${Version}' dpkg").trim();
  t.equal(inv.packages.find((p) => p.name === 'dpkg')?.version, dpkgVersion);
  // docker is installed here but has no daemon: the section is empty, not an error.
  t.strictSame(inv.docker, { containers: [], images: [] });
});

t.test('an osquery that cannot answer falls back to the plain commands', async (t) => {
  const { exec, calls } = recordingLocalExecutor();
  const detected = await detect(exec, CTX, HOST);
  calls.length = 0;
  const inv = await collectInventory(exec, CTX, { ...detected, osquery: true });
  t.equal(inv.source, 'commands');
  t.equal(calls.length, 2, 'osquery, then the commands');
  t.match(calls[0].command, /osqueryi --json/);
  t.equal(inv.system.hostname, os.hostname());
});

t.test('parsers on captures and documented shapes', async (t) => {
  const debs = parseDpkgQuery(fixture('apt/dpkg-query-W.stdout'));
  t.equal(debs.length, 200, 'the capture holds the first 200 packages');
  t.strictSame(debs[0], { name: 'adduser', version: '3.134', arch: 'all', source: 'deb' });
  t.strictSame(debs[4], { name: 'ansible', version: '7.7.0+dfsg-3+deb12u1', arch: 'all', source: 'deb' });
  t.strictSame(parseDpkgQuery(fixture('apt-chroot/07-dpkg-query-fixture-after.stdout')), [
    { name: 'tendhost-fixture', version: '1.1', arch: 'all', source: 'deb' },
  ]);
  t.strictSame(parseRpmQa('bash\t5.2.26-1.fc39\tx86_64\nopenssl-libs\t1:3.1.4-4.fc39\tx86_64\ngpg-pubkey\t18b8e74c-62f2920f\t(none)\n'), [
    { name: 'bash', version: '5.2.26-1.fc39', arch: 'x86_64', source: 'rpm' },
    { name: 'openssl-libs', version: '1:3.1.4-4.fc39', arch: 'x86_64', source: 'rpm' },
    { name: 'gpg-pubkey', version: '18b8e74c-62f2920f', arch: null, source: 'rpm' },
  ]);
  t.strictSame(
    parseDf(
      'Filesystem                  1-blocks        Used   Available Capacity Mounted on\n' +
        'devtmpfs                 12630487040           0 12630487040       0% /dev\n' +
        '/dev/vda                270553174016 24719278080 84225015808      23% /\n' +
        'tmpfs                    25276502016           0 25276502016       0% /dev/shm\n' +
        '/dev/sdb1                 1000000000   400000000   600000000      40% /mnt/my disk\n' +
        'nas:/export               2000000000  1000000000  1000000000      50% /mnt/nas\n' +
        'rpool/ROOT/debian         3000000000  1000000000  2000000000      34% /zfs\n' +
        '/dev/loop3                   1000000     1000000           0     100% /snap/core/1\n',
    ),
    [
      { device: '/dev/vda', size_bytes: 270553174016, free_bytes: 84225015808, mount: '/' },
      { device: '/dev/sdb1', size_bytes: 1000000000, free_bytes: 600000000, mount: '/mnt/my disk' },
      { device: 'nas:/export', size_bytes: 2000000000, free_bytes: 1000000000, mount: '/mnt/nas' },
      { device: 'rpool/ROOT/debian', size_bytes: 3000000000, free_bytes: 2000000000, mount: '/zfs' },
    ],
  );
  t.strictSame(parseIpAddr('[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]},{"ifname":"eth0","addr_info":[]}]'), [
    { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'] },
    { name: 'eth0', addresses: [] },
  ]);
  t.strictSame(parseIpAddr('Option "-j" is unknown, try "ip -help".\n'), [], 'an old iproute2');
  t.equal(parseMemTotal('MemTotal:       24684084 kB\n'), 24684084 * 1024);
  t.strictSame(
    [...splitSections(`${INVENTORY_MARKER} a\n1\n2\n${INVENTORY_MARKER} b\n${INVENTORY_MARKER} c\nx\n`, INVENTORY_MARKER)],
    [['a', '1\n2'], ['b', ''], ['c', 'x\n']],
  );
});

t.test('the combined command asks only for what the host has', async (t) => {
  const deb = inventoryCommand(partsFor({ system: 'apt', docker: false }));
  t.match(deb, /dpkg-query -W/);
  t.notMatch(deb, /rpm -qa|docker/);
  const rpm = inventoryCommand(partsFor({ system: 'dnf', docker: true }));
  t.match(rpm, /rpm -qa --qf/);
  t.match(rpm, /docker ps -a --format '\{\{json \.\}\}'/);
  // docker's JSON lines, as they would come back
  const inv = inventoryFromCommands(
    `${INVENTORY_MARKER} hostname\nweb1\n${INVENTORY_MARKER} docker-ps\n` +
      '{"Command":"\\"/docker-entrypoint.…\\"","ID":"650e2fd7314c","Image":"nginx:1.27","Names":"web-app-1","State":"running","Status":"Up 2 hours"}\n' +
      `${INVENTORY_MARKER} docker-images\n` +
      '{"Containers":"N/A","ID":"bb1eaeafd994","Repository":"nginx","Tag":"1.27","Size":"188MB"}\n',
    new Date('2026-11-28T00:00:00Z'),
  );
  t.strictSame(inv.docker, {
    containers: [{ id: '650e2fd7314c', name: 'web-app-1', image: 'nginx:1.27', state: 'running' }],
    images: [{ id: 'bb1eaeafd994', repository: 'nginx', tag: '1.27' }],
  });
  t.equal(inv.collected_at, '2026-11-28T00:00:00.000Z');
  t.strictSame(inv.packages, []);
});

t.test('osquery JSON → inventory', async (t) => {
  const cmd = osqueryCommand(['os', 'system', 'deb']);
  t.match(cmd, /osqueryi --json 'SELECT name, version, major, minor, codename, arch FROM os_version'/);
  const section = (name: string, rows: unknown[]) => `${OSQUERY_MARKER} ${name}\n${JSON.stringify(rows, null, 2)}\n`;
  const out =
    section('os', [{ name: 'Debian GNU/Linux', version: '12 (bookworm)', major: '12', minor: '0', codename: 'bookworm', arch: 'x86_64' }]) +
    section('system', [{ hostname: 'web1', cpu_brand: 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz ', cpu_logical_cores: '4', physical_memory: '8589934592' }]) +
    section('kernel', [{ version: '6.1.0-28-amd64' }]) +
    section('uptime', [{ total_seconds: '350735' }]) +
    section('mounts', [
      { path: '/', device: '/dev/vda1', type: 'ext4', blocks: '10000', blocks_size: '4096', blocks_available: '2500' },
      { path: '/run', device: 'tmpfs', type: 'tmpfs', blocks: '100', blocks_size: '4096', blocks_available: '100' },
    ]) +
    section('addresses', [
      { interface: 'eth0', address: '192.0.2.7', mask: '255.255.255.0' },
      { interface: 'eth0', address: 'fe80::1', mask: 'ffff:ffff:ffff:ffff::' },
    ]) +
    section('deb', [{ name: 'bash', version: '5.2.15-2+b7', arch: 'amd64' }]) +
    section('containers', [{ id: 'abc', name: '/web-app-1', image: 'nginx:1.27', state: 'running' }]) +
    `${OSQUERY_MARKER} images\n` + // docker table without socket access: nothing
    '';
  const inv = inventoryFromOsquery(out, new Date('2026-11-28T00:00:00Z'));
  t.ok(Value.Check(Inventory, inv), 'matches the schema');
  t.strictSame(inv, {
    system: { hostname: 'web1', os_name: 'Debian GNU/Linux', os_version: '12', os_codename: 'bookworm', kernel: '6.1.0-28-amd64', arch: 'x86_64', uptime_s: 350735 },
    hardware: {
      cpu_model: 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz',
      cpu_cores: 4,
      memory_bytes: 8589934592,
      disks: [{ mount: '/', device: '/dev/vda1', size_bytes: 40960000, free_bytes: 10240000 }],
      interfaces: [{ name: 'eth0', addresses: ['192.0.2.7/24', 'fe80::1/64'] }],
    },
    packages: [{ name: 'bash', version: '5.2.15-2+b7', arch: 'amd64', source: 'deb' }],
    docker: { containers: [{ id: 'abc', name: 'web-app-1', image: 'nginx:1.27', state: 'running' }], images: [] },
    collected_at: '2026-11-28T00:00:00.000Z',
    source: 'osquery',
  });
  t.equal(maskToPrefix('255.255.240.0'), 20);
  t.equal(maskToPrefix('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 128);
  t.equal(maskToPrefix(''), null);
});
