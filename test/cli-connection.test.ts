// How the command line reaches the daemon: HTTPS and WSS with a private CA
// (--ca / TENDHOST_CA), a bearer token (--token / TENDHOST_TOKEN, never
// echoed), and exit 3 when the certificate is not trusted or the token is
// refused; and `tendhost daemon`.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../src/http/auth.js';
import { LOCALHOST_TOML, startDaemon, until, writeConfig, type Daemon } from '../harness/daemon.js';
import { cli, startCli } from './helpers/cli.js';

const TOKEN = 'cli-secret-token-0123456789';
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

t.test('HTTPS with a private CA and a bearer token', { skip: haveOpenssl || process.env.CI === 'true' ? false : 'openssl is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cli-tls-'));
  const cert = join(dir, 'c.pem');
  const key = join(dir, 'k.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' });
  const d: Daemon = await startDaemon({
    scheme: 'https',
    workers: 1,
    toml: `
[daemon.tls]
enabled = true
cert_path = "${cert}"
key_path = "${key}"

[daemon.auth]
enabled = true
tokens = [{ name = "cli", token_hash = "${hashToken(TOKEN)}" }]

${LOCALHOST_TOML}`,
  });
  t.teardown(() => d.stop());
  const url = `https://127.0.0.1:${d.port}`;

  const ok = await cli(['health', '--json', '--url', url, '--ca', cert, '--token', TOKEN]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).status, 'healthy');

  const viaEnv = await cli(['hosts', '--json'], { TENDHOST_URL: url, TENDHOST_CA: cert, TENDHOST_TOKEN: TOKEN });
  t.equal(viaEnv.code, 0, viaEnv.stderr);
  t.equal(JSON.parse(viaEnv.stdout).data[0].name, 'localhost', 'TENDHOST_URL, TENDHOST_CA, TENDHOST_TOKEN');

  const untrusted = await cli(['health', '--url', url, '--token', TOKEN]);
  t.equal(untrusted.code, 3, 'a certificate not trusted: cannot reach');
  t.match(untrusted.stderr, /^tendhost health: UNREACHABLE: cannot reach https:\/\/127\.0\.0\.1:\d+: fetch failed \(\S+\)\n$/);

  const refused = await cli(['hosts', '--url', url, '--ca', cert, '--token', 'wrong-token']);
  t.equal(refused.code, 3, 'a refused token: exit 3');
  t.match(refused.stderr, /^tendhost hosts: UNAUTHORIZED: /);
  const none = await cli(['hosts', '--url', url, '--ca', cert]);
  t.equal(none.code, 3, 'no token: exit 3');
  t.notMatch(ok.stdout + ok.stderr + refused.stderr, TOKEN, 'the token is never printed');

  const missingCa = await cli(['health', '--url', url, '--ca', join(dir, 'nope.pem')]);
  t.equal(missingCa.code, 2);
  t.match(missingCa.stderr, /--ca: cannot read .*nope\.pem \(ENOENT\)/);

  // The stream over WSS with the CA and the token: a registered host's events, replayed from seq 0.
  const add = await cli(['hosts', 'add', 'extra', '--addr', '127.0.0.1', '--port', '1', '--url', url, '--ca', cert, '--token', TOKEN]);
  t.equal(add.code, 0, add.stderr);
  const ev = await cli(['events', '--since', '0', '--host', 'extra', '--type', 'HostUpdated', '--limit', '1', '--json', '--url', url, '--ca', cert, '--token', TOKEN]);
  t.equal(ev.code, 0, ev.stderr);
  t.match(JSON.parse(ev.stdout), { type: 'HostUpdated', host: 'extra' });
  const evRefused = await cli(['events', '--url', url, '--ca', cert, '--token', 'wrong-token']);
  t.equal(evRefused.code, 3);
});

t.test('tendhost daemon starts the daemon; SIGTERM stops it with exit 0', async (t) => {
  const { file } = writeConfig({ workers: 1, toml: LOCALHOST_TOML });
  const run = startCli(['daemon'], { TENDHOST_CONFIG: file });
  t.teardown(() => {
    if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
  });
  const port = await until(() => {
    for (const line of run.out().split('\n')) {
      const l = line.startsWith('{') ? JSON.parse(line) : null;
      if (l?.msg === 'listening') return l.port as number;
    }
    return null;
  }, 60_000);
  const h = await cli(['health', '--json', '--url', `http://127.0.0.1:${port}`]);
  t.equal(h.code, 0, h.stderr);
  t.equal(JSON.parse(h.stdout).hosts, 1);
  run.proc.kill('SIGTERM');
  t.equal((await run.done).code, 0);

  const help = await cli(['daemon', 'extra']);
  t.equal(help.code, 2, 'the daemon takes no arguments');
});
