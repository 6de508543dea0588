// A daemon started as a cluster node with a wrong NATS TLS setting exits 2 at
// start with a config error naming the key — it does not sit retrying a
// handshake that can never succeed — and never listens.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToExit, writeConfig } from '../harness/daemon.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';

t.test('a CA that did not sign the NATS server certificate stops the start, naming cluster.tls_ca_file', { skip: skipWithoutNats() }, async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'tendhost-cluster-tls-'));
  const file = (n: string) => join(d, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=tendhost test CA');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('other.key'), '-out', file('other.pem'), '-days', '2', '-subj', '/CN=another CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('san.ext'));
  const nats = await startNats({ tls: { cert: file('server.pem'), key: file('server.key') } });
  t.teardown(() => nats.stop());
  const { file: config } = writeConfig({ toml: `[cluster]\nenabled = true\nservers = ["${nats.url}"]\nnode_id = "n1"\ntls_ca_file = ${JSON.stringify(file('other.pem'))}\n` });
  const started = Date.now();
  const r = await runToExit(config, {}, 20_000);
  t.equal(r.code, 2, 'exit 2, like every config error');
  t.match(r.output, /cluster\.tls_ca_file .*other\.pem did not sign the certificate of the NATS server/, 'names the key and the file');
  t.ok(Date.now() - started < 15_000, 'at once, not after retrying');
  t.notMatch(r.output, /"msg":"listening"/, 'never listens');
});
