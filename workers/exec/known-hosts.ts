// An OpenSSH-format known_hosts file shared by every worker thread.
//
// Format: `hosts key-type base64-key [comment]`, hosts a comma list where a
// host on port 22 is `addr` and any other port is `[addr]:port`. Read support
// covers plain names, `*`/`?` wildcards, `!negation`, and hashed entries
// (`|1|salt|hmac`, what `HashKnownHosts yes` writes). Lines with markers
// (`@cert-authority`, `@revoked`) are ignored: certificates are not supported.
// Entries we write are always plain, so an operator can read and diff them.
//
// Several workers write the same file: new keys are appended with a single
// O_APPEND write (atomic for a line this size on a local file system), and a
// replaced key is written to a temp file and renamed over the original after a
// fresh re-read. A lookup that misses re-reads the file before answering
// "unknown", so a key another worker just added is seen.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

export type HostKeyCheck =
  | { status: 'known' }
  | { status: 'unknown' }
  /** `expected` lists the fingerprints on file for this host, same key type first. */
  | { status: 'changed'; expected: string[] };

interface Entry {
  /** Index of the line in the file, for replacement. */
  line: number;
  patterns: string[];
  type: string;
  blob: Buffer;
}

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

export class KnownHostsFile {
  #entries: Entry[] = [];
  #lines: string[] = [];
  #stamp = '';

  constructor(readonly file: string) {}

  /** Compare a presented key with the file. Never writes. */
  check(addr: string, port: number, blob: Buffer): HostKeyCheck {
    const name = hostPattern(addr, port);
    this.#refresh(false);
    let result = this.#check(name, blob);
    // Another worker (or the operator) may have written since our last read,
    // within the same mtime tick: re-read before trusting a miss.
    if (result.status !== 'known') {
      this.#refresh(true);
      result = this.#check(name, blob);
    }
    return result;
  }

  /** Key types on file for a host: offered first so the server presents the key we know. */
  knownTypes(addr: string, port: number): string[] {
    this.#refresh(false);
    const name = hostPattern(addr, port);
    return [...new Set(this.#entries.filter((e) => matches(e.patterns, name)).map((e) => e.type))];
  }

  /** Append a key for a host (accept-new). Creates the file and its directory. */
  add(addr: string, port: number, blob: Buffer): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    let prefix = '';
    try {
      const st = fs.statSync(this.file);
      if (st.size > 0) {
        // Do not glue our line onto a last line that lacks its newline.
        const fd = fs.openSync(this.file, 'r');
        try {
          const last = Buffer.alloc(1);
          fs.readSync(fd, last, 0, 1, st.size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch {
      // no file yet
    }
    fs.appendFileSync(this.file, prefix + entryLine(addr, port, blob), { mode: 0o644 });
    this.#refresh(true);
  }

  /**
   * Make `blob` the only key on file for this host (after an operator accepted
   * a changed key): drop the host from every line naming it, append the new
   * entry, write a temp file and rename it into place.
   */
  replace(addr: string, port: number, blob: Buffer): void {
    const name = hostPattern(addr, port);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // If another worker writes between our read and our rename its write would
    // be lost; detect that (the file changed under us) and redo, a few times.
    for (let attempt = 0; attempt < 5; attempt++) {
      this.#refresh(true);
      const before = this.#stamp;
      const out: string[] = [];
      this.#lines.forEach((text, i) => {
        const entry = this.#entries.find((e) => e.line === i);
        if (!entry || !matches(entry.patterns, name)) {
          out.push(text);
          return;
        }
        // Keep the other hosts of a comma list; a hashed pattern only ever
        // names one host, so it goes with ours.
        // A line that matched through a wildcard gets `!name` so it no longer does.
        let rest = entry.patterns.filter((p) => p.toLowerCase() !== name && !hashedMatches(p, name));
        if (rest.length === entry.patterns.length) rest = [...rest, `!${name}`];
        if (rest.length > 0) out.push([rest.join(','), ...text.trim().split(/\s+/).slice(1)].join(' '));
      });
      while (out.length > 0 && out[out.length - 1] === '') out.pop();
      out.push(entryLine(addr, port, blob).trimEnd(), '');
      const tmp = `${this.file}.tmp-${process.pid}-${threadId}-${crypto.randomBytes(4).toString('hex')}`;
      let mode = 0o644;
      try {
        mode = fs.statSync(this.file).mode & 0o777;
      } catch {
        // new file
      }
      fs.writeFileSync(tmp, out.join('\n'), { mode });
      if (stampOf(this.file) !== before && attempt < 4) {
        fs.rmSync(tmp, { force: true });
        continue;
      }
      fs.renameSync(tmp, this.file);
      this.#refresh(true);
      return;
    }
  }

  #check(name: string, blob: Buffer): HostKeyCheck {
    const mine = this.#entries.filter((e) => matches(e.patterns, name));
    if (mine.length === 0) return { status: 'unknown' };
    if (mine.some((e) => e.blob.equals(blob))) return { status: 'known' };
    // A different key — of the same type, or only keys of other types on file.
    // OpenSSH would prefer the known type (we do too, see knownTypes), so a
    // server that no longer presents any known key is treated as changed.
    const type = keyTypeOf(blob);
    const sorted = [...mine.filter((e) => e.type === type), ...mine.filter((e) => e.type !== type)];
    return { status: 'changed', expected: [...new Set(sorted.map((e) => fingerprint(e.blob)))] };
  }

  #refresh(force: boolean): void {
    const stamp = stampOf(this.file);
    if (!force && stamp === this.#stamp) return;
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      // missing file: no entries
    }
    this.#stamp = stamp;
    this.#lines = text.split('\n');
    this.#entries = [];
    this.#lines.forEach((raw, line) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('#') || text.startsWith('@')) return;
      const [hosts, type, b64] = text.split(/\s+/);
      if (!hosts || !type || !b64) return;
      const blob = Buffer.from(b64, 'base64');
      if (blob.length === 0) return;
      this.#entries.push({ line, patterns: hosts.split(','), type, blob });
    });
  }
}

function entryLine(addr: string, port: number, blob: Buffer): string {
  return `${hostPattern(addr, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`;
}

function stampOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** OpenSSH semantics: some positive pattern matches and no negated one does. */
function matches(patterns: string[], name: string): boolean {
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
function hashedMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('|1|')) return false;
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}
