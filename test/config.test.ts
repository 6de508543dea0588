import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, findConfigFile } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { runToExit } from '../harness/daemon.js';

const FILE = '/etc/tendhost/test.toml';

function fails(t: any, toml: string, pattern: RegExp, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(toml, FILE, env);
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError');
    t.match((err as Error).message, pattern);
    t.match((err as Error).message, FILE, 'names the file');
    return err as ConfigError;
  }
  t.fail(`expected a config error matching ${pattern}`);
  return null;
}

t.test('the shipped tendhost.toml loads and has the localhost host', async (t) => {
  const cfg = loadConfig(new URL('../tendhost.toml', import.meta.url).pathname, {});
  t.equal(cfg.daemon.host, '127.0.0.1');
  t.equal(cfg.daemon.port, 8080);
  const local = cfg.hosts.find((h) => h.name === 'localhost');
  t.ok(local, 'has localhost');
  t.equal(local?.addr, 'localhost');
  t.ok(Object.isFrozen(cfg), 'frozen');
});

t.test('defaults apply per host and env overrides bind and log level', async (t) => {
  const cfg = parseConfig(
    `[daemon]
bind = "0.0.0.0:9000"
[defaults]
user = "deploy"
port = 2222
ssh_key = "/keys/id"
[[host]]
name = "a"
addr = "10.0.0.1"
[[host]]
name = "b"
addr = "10.0.0.2"
port = 22
user = "root"
[host.policy]
auto_reboot = false
maintenance_window = { start = "22:00", end = "04:00", days = ["Sat", "Sun"] }
`,
    FILE,
    { TENDHOST_BIND: '127.0.0.2:7000', TENDHOST_LOG_LEVEL: 'debug' },
  );
  t.equal(cfg.daemon.host, '127.0.0.2');
  t.equal(cfg.daemon.port, 7000);
  t.equal(cfg.daemon.log_level, 'debug');
  const [a, b] = cfg.hosts;
  t.same([a.user, a.port, a.ssh_key, a.policy.auto_reboot], ['deploy', 2222, '/keys/id', true]);
  t.same([b.user, b.port, b.policy.auto_reboot], ['root', 22, false]);
  t.same(b.policy.maintenance_window, { start: '22:00', end: '04:00', days: ['Sat', 'Sun'] });
  t.ok(cfg.daemon.workers >= 1, 'workers default to the CPU count');
  t.equal(cfg.daemon.worker_watchdog_ms, 30_000, 'a silent worker is replaced after 30 s by default');
});

t.test('bad configs name the file and the key', async (t) => {
  const syntax = fails(t, '[daemon\nbind = "x"', /TOML syntax error/);
  t.ok(syntax?.line, 'syntax errors carry a line number');
  fails(t, '[daemon]\nworkers = "two"', /daemon\.workers must be an integer 1\.\.256/);
  fails(t, '[daemon]\nworker_nice = 25', /daemon\.worker_nice must be an integer 0\.\.19/);
  const watchdog = fails(t, '[daemon]\nworker_watchdog_s = 2', /daemon\.worker_watchdog_s must be 0 \(off\) or at least 5, got 2/);
  t.equal(watchdog?.line, 2, 'watchdog key line');
  fails(t, '[daemon]\nworker_watchdog_s = -1', /daemon\.worker_watchdog_s/);
  fails(t, '[[host]]\nname = "a"\naddr = "x"\nport = 70000', /host\[0\]\.port must be an integer 1\.\.65535/);
  const unknown = fails(t, '[daemon]\nbnid = "127.0.0.1:1"', /daemon\.bnid is not a known key \(did you mean "bind"\?\)/);
  t.equal(unknown?.line, 2, 'unknown key line');
  fails(t, '[daemon]\nlog_level = "loud"', /daemon\.log_level must be one of "trace"/);
  fails(t, '[[host]]\nname = "a"\naddr = "x"\n[[host]]\nname = "a"\naddr = "y"', /host\[1\]\.name duplicate host name "a"/);
  fails(t, '[[host]]\nname = "a"\naddr = "x"\n[groups]\nweb = ["a", "nope"]', /groups\.web\[1\] group "web" names unknown host "nope"/);
  fails(
    t,
    '[[host]]\nname = "a"\naddr = "x"\n[host.policy]\nmaintenance_window = { start = "25:00", end = "03:00" }',
    /host\[0\]\.policy\.maintenance_window\.start must be a time "HH:MM"/,
  );
  fails(t, '[[host]]\nname = "a"\naddr = "x"\ntagz = ["x"]', /host\[0\]\.tagz is not a known key \(did you mean "tags"\?\)/);
  fails(t, '[daemon]\nbind = "nope"', /daemon\.bind must be "host:port"/);
  fails(t, '[daemon.tls]\nenabled = true\ncert_path = "/nonexistent/cert.pem"\nkey_path = "/nonexistent/key.pem"', /daemon\.tls\.cert_path cannot read/);
  fails(t, '[daemon.auth]\nenabled = true', /daemon\.auth\.tokens auth is enabled but no tokens/);
  fails(t, '[[host]]\nname = "bad name!"\naddr = "x"', /host\[0\]\.name must be a string matching/);
  fails(t, '', /TENDHOST_BIND must be "host:port"/, { TENDHOST_BIND: 'x' });
});

t.test('a host addr must be a host name, an IPv4 or an IPv6 address', async (t) => {
  for (const bad of ['127.0.0.1;id', 'a b', '999.1.1.1', '10.1', '-lead.example', 'x'.repeat(64) + '.example', '$(reboot)', '::1::2']) {
    fails(t, `[[host]]\nname = "a"\naddr = ${JSON.stringify(bad)}`, /host\[0\]\.addr must be a host name \(RFC 1123\), an IPv4 or an IPv6 address/);
  }
  for (const good of ['localhost', 'web-1.example.com', 'db1.', '10.0.0.7', '::1', 'fe80::1', '2001:db8::8a2e:370:7334']) {
    const cfg = parseConfig(`[[host]]\nname = "a"\naddr = ${JSON.stringify(good)}`, FILE, {});
    t.equal(cfg.hosts[0].addr, good, `${good} is accepted`);
  }
});

t.test('verify_command is a host policy of the file (and only of the file)', async (t) => {
  const cfg = parseConfig('[[host]]\nname = "a"\naddr = "x.example"\n[host.policy]\nverify_command = "systemctl is-active nginx"', FILE, {});
  t.equal(cfg.hosts[0].policy.verify_command, 'systemctl is-active nginx');
  t.equal(parseConfig('[[host]]\nname = "a"\naddr = "x.example"', FILE, {}).hosts[0].policy.verify_command, null, 'none by default');
  fails(t, '[[host]]\nname = "a"\naddr = "x.example"\n[host.policy]\nverify_command = ""', /host\[0\]\.policy\.verify_command must be a non-empty string/);
});

t.test('lock_timeout_s: 300 s by default, a whole number of seconds', async (t) => {
  t.equal(parseConfig('', FILE, {}).workers.operations.lock_timeout_ms, 300_000);
  t.equal(parseConfig('[daemon.operations]\nlock_timeout_s = 0', FILE, {}).workers.operations.lock_timeout_ms, 0);
  fails(t, '[daemon.operations]\nlock_timeout_s = -1', /daemon\.operations\.lock_timeout_s must be an integer 0\.\.86400/);
  fails(t, '[daemon.operations]\nlock_timeout_s = "5m"', /daemon\.operations\.lock_timeout_s must be an integer/);
});

t.test('lookup order: TENDHOST_CONFIG, then ./tendhost.toml', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cfg-'));
  writeFileSync(join(dir, 'tendhost.toml'), '');
  writeFileSync(join(dir, 'other.toml'), '');
  t.equal(findConfigFile({}, dir), join(dir, 'tendhost.toml'));
  t.equal(findConfigFile({ TENDHOST_CONFIG: 'other.toml' }, dir), join(dir, 'other.toml'));
  t.throws(() => findConfigFile({ TENDHOST_CONFIG: 'missing.toml' }, dir), /file not found/);
});

t.test('the daemon exits 2 with one readable line on a bad config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cfg-'));
  const file = join(dir, 'tendhost.toml');
  writeFileSync(file, '[daemon]\nbind = "127.0.0.1:0"\nworkerz = 2\n');
  const { code, output } = await runToExit(file);
  t.equal(code, 2, 'exit code 2');
  t.match(output, `${file}:3: daemon.workerz is not a known key (did you mean "workers"?)`);
  t.equal(output.trim().split('\n').length, 1, 'one line');
});

t.test('[cluster]: off by default; defaults and credentials; errors name the key', async (t) => {
  const off = parseConfig('', FILE, {}).cluster;
  t.equal(off.enabled, false, 'no section: a single daemon');
  t.equal(off.partitions, 256);
  t.equal(off.lease_ttl_ms, 10_000);
  t.equal(off.node_id, hostname(), 'node_id defaults to the hostname');
  t.same(off.auth, { kind: 'none' });

  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cfg-'));
  const seed = join(dir, 'node.nk');
  writeFileSync(seed, 'SUAEXAMPLE\n');
  const on = parseConfig(
    `[cluster]\nenabled = true\nservers = ["nats://127.0.0.1:4222", "tls://nats.example:4222"]\nnkey_seed_file = ${JSON.stringify(seed)}\nnode_id = "node-a.dc1"\npartitions = 64\nlease_ttl_s = 5`,
    FILE,
    {},
  ).cluster;
  t.same(on, { enabled: true, servers: ['nats://127.0.0.1:4222', 'tls://nats.example:4222'], auth: { kind: 'nkey', seed_file: seed }, tls_ca_file: null, node_id: 'node-a.dc1', partitions: 64, lease_ttl_ms: 5000,
    events_retention: { max_age_ms: 86_400_000, max_msgs: 1_000_000, max_bytes: 1024 ** 3 },
    jobs_retention: { max_age_ms: 7 * 86_400_000, max_bytes: 1024 ** 3 },
  });
  const kept = parseConfig('[cluster]\nevents_max_age_s = 3600\nevents_max_msgs = 50000\nevents_max_bytes = 10485760\njobs_max_age_s = 86400\njobs_max_bytes = 2097152', FILE, {}).cluster;
  t.same(kept.events_retention, { max_age_ms: 3_600_000, max_msgs: 50_000, max_bytes: 10_485_760 }, 'event stream retention from [cluster]');
  t.same(kept.jobs_retention, { max_age_ms: 86_400_000, max_bytes: 2_097_152 }, 'jobs bucket retention from [cluster]');
  t.same(parseConfig('[cluster]\ntoken = "s3cret"', FILE, {}).cluster.auth, { kind: 'token', token: 's3cret' });
  t.same(parseConfig('[cluster]\nuser = "a"\npassword = "b"', FILE, {}).cluster.auth, { kind: 'user', user: 'a', password: 'b' });

  const noServers = fails(t, '[cluster]\nenabled = true', /cluster\.servers must name at least one NATS server/);
  t.equal(noServers?.key, 'cluster.servers');
  fails(t, '[cluster]\nservers = ["http://x:4222"]', /cluster\.servers\[0\] must be a string matching/);
  fails(t, '[cluster]\npartitions = 0', /cluster\.partitions must be an integer 1\.\.65536/);
  const ttl = fails(t, '[cluster]\nlease_ttl_s = 1', /cluster\.lease_ttl_s must be an integer 3\.\.600/);
  t.equal(ttl?.line, 2, 'the key line');
  fails(t, '[cluster]\nnode_id = "a b"', /cluster\.node_id must be a string matching/);
  fails(t, '[cluster]\nnode_id = "n>"', /cluster\.node_id must be a string matching/);
  fails(t, '[cluster]\ntoken = "x"\nuser = "a"\npassword = "b"', /cluster\.user cannot be set together with cluster\.token/);
  fails(t, '[cluster]\nuser = "a"', /cluster\.password is required with cluster\.user/);
  fails(t, '[cluster]\npassword = "a"', /cluster\.user is required with cluster\.password/);
  fails(t, '[cluster]\nnkey_seed_file = "/nonexistent/seed.nk"', /cluster\.nkey_seed_file cannot read \/nonexistent\/seed\.nk/);
  fails(t, '[cluster]\ntls_ca_file = "/nonexistent/ca.pem"', /cluster\.tls_ca_file cannot read/);
  const age = fails(t, '[cluster]\nenabled = false\nevents_max_age_s = 10', /cluster\.events_max_age_s must be an integer 60\.\.31536000/);
  t.equal(age?.line, 3, 'the key line');
  fails(t, '[cluster]\nevents_max_msgs = 5', /cluster\.events_max_msgs must be an integer 1000\.\./);
  fails(t, '[cluster]\nevents_max_bytes = "1G"', /cluster\.events_max_bytes must be an integer/);
  fails(t, '[cluster]\njobs_max_age_s = 60', /cluster\.jobs_max_age_s must be an integer 3600\.\./);
  fails(t, '[cluster]\njobs_max_bytes = 1024', /cluster\.jobs_max_bytes must be an integer 1048576\.\./);
  fails(t, '[cluster]\nleases_ttl_s = 5', /cluster\.leases_ttl_s is not a known key \(did you mean "lease_ttl_s"\?\)/);
});
