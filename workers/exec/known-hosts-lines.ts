// What one known_hosts line says, apart from the file's bookkeeping
// (known-hosts.ts): its host patterns, key type and key; whether a host name
// matches the patterns with OpenSSH's semantics (wildcards, negation, hashed
// names); and the key fingerprints and patterns OpenSSH prints and writes.
import crypto from 'node:crypto';

/** OpenSSH's `SHA256:<base64 without padding>` of the raw public key blob. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside a raw public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** How known_hosts names a host: `addr` on port 22, `[addr]:port` otherwise. */
export function hostPattern(addr: string, port: number): string {
  const a = addr.toLowerCase();
  return port === 22 ? a : `[${a}]:${port}`;
}

/** A line's entry; null for blank lines, comments, marker lines (`@cert-authority`, `@revoked`) and malformed ones. */
export function parseLine(raw: string): { patterns: string[]; type: string; blob: Buffer } | null {
  const text = raw.trim();
  if (text === '' || text.startsWith('#') || text.startsWith('@')) return null;
  const [hosts, type, b64] = text.split(/\s+/);
  if (!hosts || !type || !b64) return null;
  const blob = Buffer.from(b64, 'base64');
  if (blob.length === 0) return null;
  return { patterns: hosts.split(','), type, blob };
}

/** A pattern that names one host: no negation, no hash, no wildcard (it can be looked up by name). */
export function isPlainName(p: string): boolean {
  return !p.startsWith('!') && !p.startsWith('|') && !/[*?]/.test(p);
}

/** OpenSSH semantics: some positive pattern matches and no negated one does. */
export function matches(patterns: string[], name: string): boolean {
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), name)) return false;
    } else if (p.startsWith('|1|')) {
      if (hashedMatches(p, name)) hit = true;
    } else if (globMatches(p, name)) {
      hit = true;
    }
  }
  return hit;
}

function globMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return p === name;
  const re = new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(name);
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. */
export function hashedMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('|1|')) return false;
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}
