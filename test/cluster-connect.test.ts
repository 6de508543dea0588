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
import { ConfigError } from '../src/config/errors.js';
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

  await t.test('a misconfiguration is a start-up error naming the key, not a retry forever', async (t) => {
    const d = mkdtempSync(join(tmpdir(), 'tendhost-nats-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    const file = (n: string) => join(d, n);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=tendhost test CA');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('other.key'), '-out', file('other.pem'), '-days', '2', '-subj', '/CN=another CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('san.ext'));
    writeFileSync(file('garbage.pem'), 'not a certificate\n');
    const [tls, plain, tokened] = await Promise.all([startNats({ tls: { cert: file('server.pem'), key: file('server.key') } }), startNats(), startNats({ token: 's3cret' })]);
    t.teardown(() => Promise.all([tls.stop(), plain.stop(), tokened.stop()]));

    /** connectCluster's refusal within 5 s (a retry loop would time out instead). */
    const refusal = async (s: ClusterConnectSettings): Promise<ConfigError> => {
      const err = await Promise.race([
        connectCluster(s, { configFile: '/etc/tendhost/tendhost.toml' }).then(async (nc) => {
          await nc.close();
          throw new Error('connected');
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still retrying after 5 s')), 5000)),
      ]).catch((e: Error) => e);
      if (!(err instanceof ConfigError)) throw err;
      return err;
    };
    const wrongCa = await refusal(settings(tls.url, { tls_ca_file: file('other.pem') }));
    t.equal(wrongCa.key, 'cluster.tls_ca_file');
    t.match(wrongCa.message, /^\/etc\/tendhost\/tendhost\.toml: cluster\.tls_ca_file .*other\.pem did not sign the certificate of the NATS server at tls:\/\/127\.0\.0\.1:\d+ \(unable to verify/);
    const noCa = await refusal(settings(tls.url));
    t.match(noCa.message, /cluster\.tls_ca_file is not set and the system's CAs do not trust the certificate/);
    const garbage = await refusal(settings(tls.url, { tls_ca_file: file('garbage.pem') }));
    t.match(garbage.message, /cluster\.tls_ca_file .*garbage\.pem is not a PEM certificate/);
    const noTls = await refusal(settings(plain.url, { tls_ca_file: file('ca.pem') }));
    t.match(noTls.message, /cluster\.tls_ca_file asks for TLS but the NATS server at nats:\/\/127\.0\.0\.1:\d+ does not speak it/);
    const badToken = await refusal(settings(tokened.url, { auth: { kind: 'token', token: 'wrong' } }));
    t.match(badToken.message, /cluster\.token was refused by the NATS server/);
    const noToken = await refusal(settings(tokened.url));
    t.match(noToken.message, /cluster\.token is not set and the NATS server at .* requires credentials/);

    // A server that is merely not up yet is waited for.
    await plain.stop({ keepStore: true });
    const retries: string[] = [];
    const pending = connectCluster(settings(plain.url), { retryMs: 100, onRetry: (e) => void retries.push(e.message) });
    await new Promise((r) => setTimeout(r, 600));
    await plain.restart();
    const nc = await pending;
    t.ok(retries.length >= 2 && retries.every((m) => /refused/i.test(m)), `retried ${retries.length} times while the server was down`);
    await nc.close();
  });
});
