// HTTPS and WSS through uWS SSLApp with a self-signed certificate made here,
// and a missing certificate file as a startup configuration error (exit 2).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { runToExit, startDaemon, writeConfig, type Daemon } from '../harness/daemon.js';

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'tendhost-tls-'));
const certFile = join(dir, 'c.pem');
const keyFile = join(dir, 'k.pem');

function get(port: number, path: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, headers, servername: '127.0.0.1' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('HTTPS and WSS with a self-signed certificate', { skip: haveOpenssl || process.env.CI === 'true' ? false : 'openssl is not installed' }, async (t) => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' });
  const ca = readFileSync(certFile);
  const d: Daemon = await startDaemon({
    scheme: 'https',
    workers: 1,
    toml: `
[daemon.tls]
enabled = true
cert_path = "${certFile}"
key_path = "${keyFile}"

[[host]]
name = "localhost"
addr = "localhost"
`,
  });
  t.teardown(() => d.stop());
  const listening = d.logs.find((l) => l.msg === 'listening');
  t.equal(listening?.tls, true, 'the daemon says it serves TLS');

  const health = await get(d.port, '/health', ca);
  t.equal(health.status, 200);
  t.equal(JSON.parse(health.body).status, 'healthy');
  const host = await get(d.port, '/hosts/localhost', ca, { 'x-request-id': 'tls-1' });
  t.equal(host.status, 200);
  t.equal(JSON.parse(host.body).name, 'localhost');
  t.equal(host.headers['x-request-id'], 'tls-1');

  await t.rejects(get(d.port, '/health', undefined), /self[- ]signed|unable to verify/i, 'an untrusted client refuses the certificate');
  const plain = await fetch(`http://127.0.0.1:${d.port}/health`).then((r) => r.status, () => 'refused');
  t.not(plain, 200, 'plain HTTP gets no answer from the TLS port');

  const ws = new WebSocket(`wss://127.0.0.1:${d.port}/ws/events`, { ca });
  const first = await new Promise<any>((resolve, reject) => {
    ws.once('message', (m) => resolve(JSON.parse(String(m))));
    ws.once('error', reject);
  });
  t.equal(first.type, 'Snapshot', 'WSS delivers the snapshot');
  t.equal(first.hosts[0].name, 'localhost');
  ws.close();
});

t.test('a missing certificate or key file stops the daemon with exit 2 naming the key', async (t) => {
  for (const [key, cert, keyPath] of [
    ['cert_path', join(dir, 'missing-cert.pem'), keyFile],
    ['key_path', certFile, join(dir, 'missing-key.pem')],
  ] as const) {
    const { file } = writeConfig({ toml: `[daemon.tls]\nenabled = true\ncert_path = "${cert}"\nkey_path = "${keyPath}"\n` });
    const r = await runToExit(file);
    t.equal(r.code, 2, `missing ${key}: exit 2`);
    t.match(r.output, `daemon.tls.${key}`, 'names the key');
    t.match(r.output, /missing-(cert|key)\.pem/, 'and the file');
  }
  const { file } = writeConfig({ toml: `[daemon.tls]\nenabled = true\nkey_path = "${keyFile}"\n` });
  const r = await runToExit(file);
  t.equal(r.code, 2, 'TLS enabled without a cert_path');
  t.match(r.output, 'daemon.tls.cert_path');
});
