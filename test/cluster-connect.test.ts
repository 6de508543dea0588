// connect.ts against real nats-servers that demand each kind of credentials
// `[cluster]` offers (token, user/password, nkey seed file) and TLS with a
// private CA: the right ones connect, wrong ones are refused.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { connectCluster, connectionOptions, type ClusterConnectSettings } from '../src/cluster/connect.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';

const settings = (url: string, over: Partial<ClusterConnectSettings> = {}): ClusterConnectSettings => ({
  servers: [url],
  auth: { kind: 'none' },
  tls_ca_file: null,
  node_id: 'n1',
  ...over,
});

/** Connect once, without waiting for a server that refuses us: the error, or null when it worked. */
async function tryConnect(s: ClusterConnectSettings): Promise<string | null> {
  const { connect } = await import('@nats-io/transport-node');
  try {
    const nc = await connect({ ...connectionOptions(s), waitOnFirstConnect: false, maxReconnectAttempts: 0, timeout: 3000 });
    await nc.flush();
    await nc.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tendhost-nats-auth-'));

t.test('credentials and TLS', { skip: skipWithoutNats() }, async (t) => {
  await t.test('token', async (t) => {
    const nats = await startNats({ token: 's3cret' });
    t.teardown(() => nats.stop());
    t.equal(await tryConnect(settings(nats.url, { auth: { kind: 'token', token: 's3cret' } })), null, 'the right token connects');
    t.match(await tryConnect(settings(nats.url, { auth: { kind: 'token', token: 'wrong' } })), /authorization/i, 'a wrong one is refused');
    t.match(await tryConnect(settings(nats.url)), /authorization/i, 'and none at all');
  });

  await t.test('user and password', async (t) => {
    const nats = await startNats({ user: { user: 'tend', password: 'pw' } });
    t.teardown(() => nats.stop());
    t.equal(await tryConnect(settings(nats.url, { auth: { kind: 'user', user: 'tend', password: 'pw' } })), null);
    t.match(await tryConnect(settings(nats.url, { auth: { kind: 'user', user: 'tend', password: 'nope' } })), /authorization/i);
  });

  await t.test('nkey seed file', async (t) => {
    const user = nkeys.createUser();
    const seedFile = join(dir, 'node.nk');
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    const other = join(dir, 'other.nk');
    writeFileSync(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
    const nats = await startNats({ nkey: user.getPublicKey() });
    t.teardown(() => nats.stop());
    t.equal(await tryConnect(settings(nats.url, { auth: { kind: 'nkey', seed_file: seedFile } })), null, 'the seed whose public key the server knows');
    t.match(await tryConnect(settings(nats.url, { auth: { kind: 'nkey', seed_file: other } })), /authorization/i, 'another seed is refused');
  });

  await t.test('TLS with a private CA', async (t) => {
    const ca = join(dir, 'ca.pem');
    const caKey = join(dir, 'ca.key');
    const key = join(dir, 'server.key');
    const csr = join(dir, 'server.csr');
    const cert = join(dir, 'server.pem');
    const ext = join(dir, 'san.ext');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=tendhost test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1');
    // The Node transport verifies a server dialled by IP address against the
    // name "localhost" (it passes no servername for IPs), so the certificate names both.
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext);
    const nats = await startNats({ tls: { cert, key } });
    t.teardown(() => nats.stop());
    t.match(nats.url, /^tls:\/\//);
    t.equal(await tryConnect(settings(nats.url, { tls_ca_file: ca })), null, 'the CA from tls_ca_file is trusted');
    const nc = await Promise.race([
      connectCluster(settings(nats.url, { tls_ca_file: ca })),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connectCluster did not connect in 10 s')), 10_000)),
    ]);
    t.ok(nc.info?.tls_required, 'connected over TLS, trusting the CA from tls_ca_file');
    await nc.close();
    t.match(await tryConnect(settings(nats.url)), /certificate|self.signed|verify/i, 'without the CA the server is not trusted');
  });
});
