// Keys: the client key tendhost logs in with (read, or generated in OpenSSH
// format with mode 0600), one host key shared by the whole fleet, and a second
// host key for hosts with the `changed-key` fault.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSsh2 } from '../../workers/exec/ssh2-module.js';

// The same ssh2 build the daemon uses on this runtime (TENDHOST_SSH2_PATCH).
const { ssh2 } = loadSsh2();


const { utils } = ssh2;

export interface ParsedPublicKey {
  type: string;
  getPublicSSH(): Buffer;
  verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean | Error;
}

function parseOne(data: string | Buffer, what: string): ParsedPublicKey {
  const k = utils.parseKey(data);
  if (k instanceof Error) throw new Error(`cannot parse ${what}: ${k.message}`);
  return (Array.isArray(k) ? k[0] : k) as unknown as ParsedPublicKey;
}

function writePrivate(path: string, key: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, key, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface ClientKey {
  path: string;
  publicKey: ParsedPublicKey;
  publicSSH: Buffer;
}

/** Reads the client private key at path, or creates one (ed25519, OpenSSH format) plus `path.pub`. */
export function loadOrCreateClientKey(path: string): ClientKey {
  let priv: string;
  if (existsSync(path)) {
    priv = readFileSync(path, 'utf8');
  } else {
    const pair = generateParseable('tendhost-simulator-client');
    priv = pair.private;
    writePrivate(path, priv);
    writeFileSync(`${path}.pub`, pair.public + '\n');
  }
  const parsed = parseOne(priv, `client key ${path}`);
  // Verify signatures with the public half only ("type base64" form).
  const pub = parseOne(`${parsed.type} ${parsed.getPublicSSH().toString('base64')}`, 'client public key');
  return { path, publicKey: pub, publicSSH: pub.getPublicSSH() };
}

/** A host private key in OpenSSH format: from path (created if missing) or fresh in memory. */
export function hostKey(path?: string): string {
  if (path && existsSync(path)) return readFileSync(path, 'utf8');
  const priv = generateParseable().private;
  if (path) writePrivate(path, priv);
  return priv;
}

/**
 * An ed25519 pair that ssh2 can read back. ssh2 1.17's generator produces a
 * key its own parser rejects ("Malformed OpenSSH private key") about 4 times
 * in 1,000 (measured here); draw again when that happens.
 */
export function generateParseable(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : undefined);
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

/** SHA256 fingerprint as OpenSSH prints it (for logs and tests). */
export function fingerprint(privateKey: string): string {
  const k = parseOne(privateKey, 'host key');
  return 'SHA256:' + createHash('sha256').update(k.getPublicSSH()).digest('base64').replace(/=+$/, '');
}
