// ssh2 as installed by `npm ci` carries patches/ssh2.mjs (raw keys through
// JWK instead of OpenSSL's locked PEM/DER coders), and an unpatched copy next
// to it; TENDHOST_SSH2_PATCH (workers/exec/ssh2-module.ts) picks one. What a
// user relies on: with either, every key exchange and host-key type connects
// to a real OpenSSH sshd and presents the right host key, and a bad signature
// is still refused. The patched one cannot run on Node 24: that is refused
// up front.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ssh2 from 'ssh2';
import { canRunSshd, keygen, publicKeyLine, startSshd, type HostKeyType } from '../harness/sshd.js';

import { chooseSsh2, UNPATCHED_FROM_NODE_MAJOR } from '../common/ssh2-choice.js';
import { runToExit, writeConfig } from '../harness/daemon.js';

const require = createRequire(import.meta.url);
const { utils } = ssh2;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const PATCHED_DIR = path.dirname(require.resolve('ssh2/package.json'));
const UNPATCHED_DIR = path.join(PATCHED_DIR, '..', '.tendhost', 'ssh2-unpatched');
/** The ssh2 builds this runtime can use: both before Node 24, the unpatched one from then on. */
const VARIANTS: Array<{ name: string; ssh2: typeof ssh2 }> = [
  ...(NODE_MAJOR < UNPATCHED_FROM_NODE_MAJOR ? [{ name: 'patched', ssh2: require(PATCHED_DIR) as typeof ssh2 }] : []),
  { name: 'unpatched', ssh2: require(UNPATCHED_DIR) as typeof ssh2 },
];

t.test('TENDHOST_SSH2_PATCH: auto patches before Node 24 only, on/off force it, anything else is refused', async (t) => {
  t.match(chooseSsh2(undefined, '20.20.2'), { patched: true, setting: 'auto' });
  t.match(chooseSsh2('auto', '22.1.0'), { patched: true });
  t.match(chooseSsh2('auto', '24.22.3'), { patched: false });
  t.match(chooseSsh2('', '25.0.0'), { patched: false, setting: 'auto' });
  t.match(chooseSsh2('off', '20.20.2'), { patched: false });
  t.match(chooseSsh2('on', '22.0.0'), { patched: true });
  t.throws(() => chooseSsh2('on', '24.22.3'), /cannot work on Node 24/);
  t.throws(() => chooseSsh2('yes', '20.20.2'), /TENDHOST_SSH2_PATCH must be on, off or auto \(got "yes"\)/);
});

t.test('a daemon given a bad TENDHOST_SSH2_PATCH stops with exit 2 and one line', async (t) => {
  const { file } = writeConfig({ workers: 1 });
  const { code, output } = await runToExit(file, { TENDHOST_SSH2_PATCH: 'maybe' });
  t.equal(code, 2);
  t.match(output, /TENDHOST_SSH2_PATCH must be on, off or auto/);
});

t.test('the unpatched copy is ssh2 as published', async (t) => {
  for (const file of ['lib/protocol/kex.js', 'lib/protocol/keyParser.js']) {
    t.notMatch(fs.readFileSync(path.join(UNPATCHED_DIR, file), 'utf8'), 'tendhost', file);
  }
  t.equal(JSON.parse(fs.readFileSync(path.join(UNPATCHED_DIR, 'package.json'), 'utf8')).version, '1.17.0');
});

t.test('the installed ssh2 carries the patch', async (t) => {
  for (const file of ['ssh2/lib/protocol/kex.js', 'ssh2/lib/protocol/keyParser.js']) {
    t.match(fs.readFileSync(require.resolve(file), 'utf8'), 'tendhost: raw keys via JWK', file);
  }
});

t.test('curve25519 key exchange agrees on secrets and never freezes its thread under GC pressure', { skip: NODE_MAJOR >= UNPATCHED_FROM_NODE_MAJOR ? 'the patched ssh2 is not used from Node 24 on' : false }, async (t) => {
  // Node 20 exports a key as JWK while holding the key's mutex; a GC in that
  // window that finalised the generateKeyPairSync job sharing the mutex froze
  // the thread for good (a shard worker stopped serving its hosts). The patch
  // now makes no key-generation job and exports nothing.
  const script = fileURLToPath(new URL('./helpers/kex-loop.mjs', import.meta.url));
  const child = spawn(process.execPath, ['--max-semi-space-size=1', script, '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  clearTimeout(watchdog);
  t.equal(signal, null, 'the loop finished by itself (a frozen thread is killed by the watchdog)');
  t.equal(code, 0);
  const result = JSON.parse(out.trim() || '{}') as { handshake?: boolean; exchanges?: number; mismatches?: number };
  t.equal(result.handshake, true, 'a real handshake went through the curve25519 exchange');
  t.ok((result.exchanges ?? 0) > 1000, `many exchanges ran (${result.exchanges})`);
  t.equal(result.mismatches, 0, 'both sides of every exchange derived the same secret');
});

for (const { name, ssh2: variant } of VARIANTS) t.test(`${name} ssh2: a public key parsed from the wire verifies good signatures and refuses bad ones`, async (t) => {
  const { utils } = variant;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-ssh2-keys-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const cases: Array<[type: HostKeyType, bits: number, hash: string | undefined]> = [
    ['ed25519', 256, undefined],
    ['ecdsa', 256, undefined],
    ['ecdsa', 384, undefined],
    ['ecdsa', 521, undefined],
    ['rsa', 2048, 'sha512'],
  ];
  for (const [type, bits, hash] of cases) {
    const file = keygen(path.join(tmp, `${type}-${bits}`), { type, bits });
    const priv = utils.parseKey(fs.readFileSync(file));
    const pub = utils.parseKey(fs.readFileSync(`${file}.pub`));
    if (priv instanceof Error) throw priv;
    if (pub instanceof Error) throw pub;
    const label = `${pub.type} (${bits} bits)`;
    const data = crypto.randomBytes(64);
    const signature = priv.sign(data, hash);
    if (signature instanceof Error) throw signature;
    t.equal(pub.verify(data, signature, hash), true, `${label}: good signature`);
    const bad = Buffer.from(signature);
    bad[bad.length - 8] ^= 1;
    t.not(pub.verify(data, bad, hash), true, `${label}: flipped bit refused`);
    t.not(pub.verify(crypto.randomBytes(64), signature, hash), true, `${label}: other data refused`);
  }
});

// Every exchange both ssh2 and OpenSSH offer (OpenSSH 10 no longer enables the
// finite-field groups by default: the test sshd turns them all on).
const KEXES = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
];

// In CI a missing sshd is a failure, not a skip.
const skip = process.env.CI === 'true' ? null : canRunSshd();
for (const { name, ssh2: variant } of VARIANTS) t.test(`${name} ssh2: every key exchange and host-key type reaches a real sshd`, { skip: skip ?? false }, async (t) => {
  const { Client } = variant;
  const sshd = await startSshd({ extraHostKeys: ['ecdsa', 'rsa'], extraConfig: [`KexAlgorithms ${KEXES.join(',')}`] });
  t.teardown(() => sshd.stop());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-ssh2-patch-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const key = keygen(path.join(tmp, 'id'));
  sshd.authorize('root', publicKeyLine(key));
  const [ecdsaLine, rsaLine] = sshd.extraHostKeyLines();
  const blobOf = (line: string) => Buffer.from(line.split(/\s+/)[1]!, 'base64');
  const hostKeys: Array<[string, Buffer]> = [
    ['ssh-ed25519', sshd.hostKeyBlob()],
    ['ecdsa-sha2-nistp256', blobOf(ecdsaLine!)],
    ['rsa-sha2-512', blobOf(rsaLine!)],
    ['rsa-sha2-256', blobOf(rsaLine!)],
  ];
  for (const kex of KEXES) {
    for (const [hostKeyAlgo, expectedBlob] of hostKeys) {
      let presented: Buffer | null = null;
      const out = await new Promise<string>((resolve, reject) => {
        const client = new Client();
        client
          .on('ready', () => {
            client.exec('echo handshake-ok', (err, stream) => {
              if (err) return reject(err);
              let text = '';
              stream.on('data', (d: Buffer) => (text += d.toString()));
              stream.on('close', () => {
                client.end();
                resolve(text.trim());
              });
            });
          })
          .on('error', reject)
          .connect({
            host: '127.0.0.1',
            port: sshd.port,
            username: 'root',
            privateKey: fs.readFileSync(key),
            algorithms: { kex: [kex] as never, serverHostKey: [hostKeyAlgo] as never },
            hostVerifier: (blob: Buffer) => {
              presented = blob;
              return true;
            },
            // 8192-bit groups on a busy 2-core machine take seconds.
            readyTimeout: 60_000,
          });
      });
      t.equal(out, 'handshake-ok', `${kex} / ${hostKeyAlgo}: command ran`);
      t.same(presented, expectedBlob, `${kex} / ${hostKeyAlgo}: the sshd's own host key`);
    }
  }
});
