// Applied by `npm ci` (package.json "postinstall"): edits to two files of
// ssh2 1.17.0 that take OpenSSL's key encoder and decoder out of every SSH
// handshake.
//
// Why: Node 20 bundles OpenSSL 3.0, whose PEM/DER encoders and decoders take
// process-wide locks. ssh2 goes through them three times per connection — it
// exports its curve25519 public key as DER (twice), imports the server's
// curve25519 key from DER, and verifies the host-key signature from a PEM
// string. Measured on this 2-core machine (client side of one handshake):
// 0.39 ms with one thread, 0.73 ms each when two threads handshake at once.
// The same keys through JWK go straight to the raw-key calls
// (EVP_PKEY_new_raw_public_key / EVP_PKEY_get_raw_public_key, RSA_set0_key,
// EC_KEY_set_public_key_affine_coordinates): 0.17 ms, and 0.20 ms with two
// threads. Nothing else changes: the same algorithms, the same bytes on the
// wire, the same errors. test/ssh2-patch.test.ts checks it against a real sshd.
//
// Our own curve25519 key is not exported at all: its private half is 32
// random bytes imported as a raw key, and its public half is X25519(k, 9).
// Exporting it as JWK (the first version of this patch) could freeze the
// thread: Node 20 builds the JWK strings while holding the key's mutex, and a
// GC in that window that finalises the generateKeyPairSync job sharing the
// mutex locks it again. test/ssh2-patch.test.ts runs exchanges under GC
// pressure to keep that from coming back. A whole curve25519 exchange, both
// sides (keys, public halves, both secrets): 0.27 ms on one thread and
// 0.27-0.29 ms each on two at once; ssh2's own DER path: 0.52 and 0.98 ms.
//
// Each edit replaces one exact block. When ssh2 changes (a new version), the
// block is not found and the install fails here, naming the file — update the
// edits against the new source or drop them if upstream has the fix.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Marks a patched file; also what `isSsh2Patched()` in workers/exec looks for. */
export const MARKER = 'tendhost: raw keys via JWK';

const EDITS = [
  {
    file: 'lib/protocol/kex.js',
    before: `const {
  createDiffieHellman,
  createDiffieHellmanGroup,
  createECDH,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomFillSync,
} = require('crypto');`,
    after: `const {
  createDiffieHellman,
  createDiffieHellmanGroup,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomFillSync,
} = require('crypto');
// ${MARKER}: X25519 base point (u = 9); X25519(k, base) is k's public key.
const X25519_BASE = createPublicKey({
  key: { kty: 'OKP', crv: 'X25519', x: Buffer.from([9, ...new Array(31).fill(0)]).toString('base64url') },
  format: 'jwk',
});`,
  },
  {
    file: 'lib/protocol/kex.js',
    before: `    generateKeys() {
      if (!this._keys)
        this._keys = generateKeyPairSync('x25519');
    }
    getPublicKey() {
      this.generateKeys();

      const key = this._keys.publicKey.export({ type: 'spki', format: 'der' });
      return key.slice(-32); // HACK: avoids parsing DER/BER header
    }`,
    after: `    // ${MARKER} (no OpenSSL encoder; see tendhost patches/ssh2.mjs).
    // The private key is 32 random bytes (RFC 7748: X25519 clamps any 32
    // bytes) imported as a raw key, and the public key is X25519(k, 9): no
    // key-generation job and no export. Node 20 exports a JWK while holding
    // the key's mutex; a GC in that window that finalises the
    // generateKeyPairSync job sharing that mutex deadlocks the thread.
    generateKeys() {
      if (!this._keys) {
        const d = Buffer.allocUnsafe(32);
        randomFillSync(d);
        const privateKey = createPrivateKey({
          // x is required by the JWK import but not read for a private key
          key: { kty: 'OKP', crv: 'X25519', d: d.toString('base64url'), x: '' },
          format: 'jwk',
        });
        d.fill(0);
        this._keys = { privateKey };
      }
    }
    getPublicKey() {
      this.generateKeys();
      if (!this._rawPublic)
        this._rawPublic = diffieHellman({ privateKey: this._keys.privateKey, publicKey: X25519_BASE });
      return this._rawPublic;
    }`,
  },
  {
    file: 'lib/protocol/kex.js',
    before: `      try {
        const asnWriter = new Ber.Writer();
        asnWriter.startSequence();
          // algorithm
          asnWriter.startSequence();
            asnWriter.writeOID('1.3.101.110'); // id-X25519
          asnWriter.endSequence();

          // PublicKey
          asnWriter.startSequence(Ber.BitString);
            asnWriter.writeByte(0x00);
            // XXX: hack to write a raw buffer without a tag -- yuck
            asnWriter._ensure(otherPublicKey.length);
            otherPublicKey.copy(asnWriter._buf,
                                asnWriter._offset,
                                0,
                                otherPublicKey.length);
            asnWriter._offset += otherPublicKey.length;
          asnWriter.endSequence();
        asnWriter.endSequence();

        return convertToMpint(diffieHellman({
          privateKey: this._keys.privateKey,
          publicKey: createPublicKey({
            key: asnWriter.buffer,
            type: 'spki',
            format: 'der',
          }),
        }));`,
    after: `      try {
        // ${MARKER} (no OpenSSL decoder; see tendhost patches/ssh2.mjs)
        return convertToMpint(diffieHellman({
          privateKey: this._keys.privateKey,
          publicKey: createPublicKey({
            key: {
              kty: 'OKP',
              crv: 'X25519',
              x: otherPublicKey.toString('base64url'),
            },
            format: 'jwk',
          }),
        }));`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `const {
  createDecipheriv,
  createECDH,`,
    after: `const {
  createPublicKey,
  createDecipheriv,
  createECDH,`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `const SYM_PUB_SSH = Symbol('Public key SSH');`,
    after: `const SYM_PUB_SSH = Symbol('Public key SSH');
// ${MARKER}: a public key parsed from the wire also keeps its JWK form, and
// verify() imports that instead of decoding the PEM (see tendhost patches/ssh2.mjs)
const SYM_PUB_JWK = Symbol('Public key JWK');
const base64url = (mpint) => {
  let i = 0;
  while (i < mpint.length - 1 && mpint[i] === 0) ++i;
  return mpint.subarray(i).toString('base64url');
};
const EC_JWK_CURVE = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};
const verifyKey = (key) => {
  const jwk = key[SYM_PUB_JWK];
  if (jwk) {
    try {
      return createPublicKey({ key: jwk, format: 'jwk' });
    } catch {}
  }
  return key[SYM_PUB_PEM];
};`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `          return verify_(algo, data, pem, signature);`,
    after: `          return verify_(algo, data, verifyKey(this), signature);`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `  let algo;
  let oid;
  let pubPEM = null;
  let pubSSH = null;
`,
    after: `  let algo;
  let oid;
  let pubPEM = null;
  let pubSSH = null;
  let pubJWK = null;
`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `      pubPEM = genOpenSSLRSAPub(n, e);
      pubSSH = genOpenSSHRSAPub(n, e);
      algo = 'sha1';`,
    after: `      pubPEM = genOpenSSLRSAPub(n, e);
      pubSSH = genOpenSSHRSAPub(n, e);
      pubJWK = { kty: 'RSA', n: base64url(n), e: base64url(e) };
      algo = 'sha1';`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `      pubPEM = genOpenSSLEdPub(edpub);
      pubSSH = genOpenSSHEdPub(edpub);`,
    after: `      pubPEM = genOpenSSLEdPub(edpub);
      pubSSH = genOpenSSHEdPub(edpub);
      pubJWK = { kty: 'OKP', crv: 'Ed25519', x: edpub.toString('base64url') };`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `      pubPEM = genOpenSSLECDSAPub(oid, ecpub);
      pubSSH = genOpenSSHECDSAPub(oid, ecpub);
      break;`,
    after: `      pubPEM = genOpenSSLECDSAPub(oid, ecpub);
      pubSSH = genOpenSSHECDSAPub(oid, ecpub);
      if (ecpub[0] === 0x04 && ecpub.length % 2 === 1) { // uncompressed point
        const half = (ecpub.length - 1) / 2;
        pubJWK = {
          kty: 'EC',
          crv: EC_JWK_CURVE[oid],
          x: ecpub.subarray(1, 1 + half).toString('base64url'),
          y: ecpub.subarray(1 + half).toString('base64url'),
        };
      }
      break;`,
  },
  {
    file: 'lib/protocol/keyParser.js',
    before: `  return new OpenSSH_Public(fullType, comment, pubPEM, pubSSH, algo);
}`,
    after: `  const key = new OpenSSH_Public(fullType, comment, pubPEM, pubSSH, algo);
  key[SYM_PUB_JWK] = pubJWK;
  return key;
}`,
  },
];

/** ssh2's package folder, as Node resolves it from here. */
export function ssh2Dir() {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('ssh2/package.json'));
}

/**
 * Where the unpatched ssh2 is kept (next to the patched one, so its own
 * dependencies resolve the same way): TENDHOST_SSH2_PATCH=off, or `auto` on a
 * runtime where the lock is gone, loads it (workers/exec/ssh2-module.ts).
 */
export const UNPATCHED_DIR = '.tendhost/ssh2-unpatched';

/** Copies ssh2 as npm installed it, before any edit; a copy already there is kept. */
export function keepUnpatched(root = ssh2Dir()) {
  const dest = join(root, '..', UNPATCHED_DIR);
  if (existsSync(join(dest, 'package.json'))) return dest;
  if (readFileSync(join(root, EDITS[0].file), 'utf8').includes(MARKER)) {
    throw new Error(`patches/ssh2.mjs: ${root} is patched already and no unpatched copy exists; reinstall ssh2 (npm ci)`);
  }
  rmSync(dest, { recursive: true, force: true });
  cpSync(root, dest, { recursive: true });
  return dest;
}

/** Applies every edit once; a file already patched is left as it is. */
export function applySsh2Patch(root = ssh2Dir()) {
  const files = new Map();
  for (const edit of EDITS) {
    const path = join(root, edit.file);
    const text = files.get(path) ?? readFileSync(path, 'utf8');
    if (text.includes(edit.after)) {
      files.set(path, text);
      continue;
    }
    const at = text.indexOf(edit.before);
    if (at < 0 || text.indexOf(edit.before, at + 1) >= 0) {
      throw new Error(
        `patches/ssh2.mjs: ${path} does not contain the block this edit replaces ` +
          `(installed ssh2 ${readVersion(root)}; the edits are written against 1.17.0)`,
      );
    }
    files.set(path, text.slice(0, at) + edit.after + text.slice(at + edit.before.length));
  }
  for (const [path, text] of files) writeFileSync(path, text);
  return [...files.keys()];
}

function readVersion(root) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const unpatched = keepUnpatched();
  const patched = applySsh2Patch();
  console.log(`ssh2 patched (${MARKER}): ${patched.length} files; unpatched copy in ${unpatched}`);
}
