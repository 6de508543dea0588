// Which credentials a connection offers, in order (the way OpenSSH walks its
// IdentityFile list): the host's `ssh_key`, the `[defaults] ssh_key`, the SSH
// agent, then `TENDHOST_SSH_KEY`. ssh2 tries each in turn until one is
// accepted, so a host whose own key is not authorized can still get in with
// the agent.
//
// A key file that is configured but cannot be used (missing, readable by
// group/other, encrypted without a passphrase, not a private key) is an error
// of its own, SSH_KEY_INVALID, raised before any connection is attempted: it
// is a configuration mistake, and "authentication failed" would hide it.
//
// Parsed keys are cached per path (and re-parsed when the file changes):
// decrypting a passphrase-protected OpenSSH key runs bcrypt-pbkdf, which costs
// tens of milliseconds per connection otherwise, and each key is decoded
// into an OpenSSL KeyObject once (decoded-key.ts).
import fs from 'node:fs';
import { loadSsh2 } from './ssh2-module.js';
import type { AgentAuthMethod, ParsedKey, PublicKeyAuthMethod } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import { decodeOnce } from './decoded-key.js';

export type SshAuthMethod = PublicKeyAuthMethod | AgentAuthMethod;

/** Where a key came from: used in messages so the operator knows what to fix. */
type KeySource = 'host ssh_key' | '[defaults] ssh_key' | 'TENDHOST_SSH_KEY';

interface CachedKey {
  mtimeMs: number;
  size: number;
  ino: number;
  key: ParsedKey;
}

export class SshKeyStore {
  readonly #passphrase: string | undefined;
  readonly #files = new Map<string, CachedKey>();
  #env: { raw: string; key: ParsedKey } | null = null;

  constructor(passphrase: string | null) {
    this.#passphrase = passphrase ?? undefined;
  }

  /**
   * The auth methods to offer for one host, in order. Throws SSH_KEY_INVALID
   * for an unusable configured key, SSH_NO_KEY when nothing at all is available.
   */
  authMethods(username: string, hostKeyPath: string | null, defaultKeyPath: string | null): SshAuthMethod[] {
    const methods: SshAuthMethod[] = [];
    const seen = new Set<string>();
    for (const [path, source] of [
      [hostKeyPath, 'host ssh_key'],
      [defaultKeyPath, '[defaults] ssh_key'],
    ] as const) {
      if (!path || seen.has(path)) continue;
      seen.add(path);
      methods.push({ type: 'publickey', username, key: this.loadFile(path, source) });
    }
    const agent = process.env.SSH_AUTH_SOCK;
    if (agent) methods.push({ type: 'agent', username, agent });
    const envKey = this.fromEnv();
    if (envKey) methods.push({ type: 'publickey', username, key: envKey });
    if (methods.length === 0) {
      throw new TendhostError(
        'SSH_NO_KEY',
        'no ssh key available: set the host ssh_key or [defaults] ssh_key, run an ssh-agent (SSH_AUTH_SOCK), or set TENDHOST_SSH_KEY',
      );
    }
    return methods;
  }

  /** A private key file, checked like OpenSSH checks it, parsed once per change. */
  loadFile(path: string, source: KeySource = 'host ssh_key'): ParsedKey {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (err) {
      throw new TendhostError('SSH_KEY_INVALID', `${source} ${path} cannot be read: ${(err as Error).message}`, { path });
    }
    if (!st.isFile()) throw new TendhostError('SSH_KEY_INVALID', `${source} ${path} is not a regular file`, { path });
    // OpenSSH refuses such keys ("UNPROTECTED PRIVATE KEY FILE"); so do we,
    // checked on every use so a chmod takes effect without a restart.
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new TendhostError(
        'SSH_KEY_INVALID',
        `UNPROTECTED PRIVATE KEY FILE: ${source} ${path} has permissions ${mode}, which let group or others read it; run chmod 600 ${path}`,
        { path, mode },
      );
    }
    const cached = this.#files.get(path);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size && cached.ino === st.ino) return cached.key;

    let data: Buffer;
    try {
      data = fs.readFileSync(path);
    } catch (err) {
      throw new TendhostError('SSH_KEY_INVALID', `${source} ${path} cannot be read: ${(err as Error).message}`, { path });
    }
    const key = this.#parse(data, `${source} ${path}`);
    this.#files.set(path, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, key });
    return key;
  }

  /** TENDHOST_SSH_KEY: a base64 private key, decoded in memory only (never written to disk). */
  fromEnv(): ParsedKey | null {
    const raw = process.env.TENDHOST_SSH_KEY;
    if (!raw) {
      this.#env = null;
      return null;
    }
    if (this.#env?.raw === raw) return this.#env.key;
    const data = Buffer.from(raw.trim(), 'base64');
    if (data.length === 0) throw new TendhostError('SSH_KEY_INVALID', 'TENDHOST_SSH_KEY is not valid base64');
    const key = this.#parse(data, 'TENDHOST_SSH_KEY');
    data.fill(0); // the parsed key keeps what it needs
    this.#env = { raw, key };
    return key;
  }

  #parse(data: Buffer, what: string): ParsedKey {
    const parsed = loadSsh2().ssh2.utils.parseKey(data, this.#passphrase);
    if (parsed instanceof Error) {
      // ssh2's messages: "Encrypted ... detected, but no passphrase given" and
      // "... integrity check failed -- bad passphrase?" / "Bad passphrase?".
      if (/no passphrase given/i.test(parsed.message)) {
        throw new TendhostError('SSH_KEY_INVALID', `${what}: key is encrypted; set [daemon.ssh] key_passphrase`, {
          reason: 'encrypted',
        });
      }
      if (/passphrase/i.test(parsed.message)) {
        throw new TendhostError('SSH_KEY_INVALID', `${what}: key cannot be decrypted with [daemon.ssh] key_passphrase`, {
          reason: 'bad_passphrase',
        });
      }
      throw new TendhostError('SSH_KEY_INVALID', `${what} is not a usable private key: ${parsed.message}`, {
        reason: 'unparseable',
      });
    }
    const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    if (!key.isPrivateKey()) {
      throw new TendhostError('SSH_KEY_INVALID', `${what} holds a public key; point it at the private key`, {
        reason: 'public_key',
      });
    }
    decodeOnce(key);
    return key;
  }
}
