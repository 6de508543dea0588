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
// fresh re-read. Every lookup first checks the file's identity (inode, size,
// mtime), so a key another worker just added is seen.
//
// Fleet scale: a first rollout with accept-new appends one line per host from
// every worker, so the file changes thousands of times a minute. A file that
// only grew is read from where we stopped (appends are whole lines), and
// lookups go through an index by host name, so 10,000 new hosts cost 10,000
// small reads and lookups, not 10,000 re-reads of a 10,000-line file. Lines
// with wildcards, negations or hashed names cannot be indexed by name; they
// are matched one by one and the answer is memoized per name until the file
// changes. What one line says, and whether a name matches it, is in
// known-hosts-lines.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { fingerprint, hashedMatches, hostPattern, isPlainName, keyTypeOf, matches, parseLine } from './known-hosts-lines.js';

export { fingerprint, hostPattern, keyTypeOf } from './known-hosts-lines.js';

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

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

const MISSING: FileStamp = { ino: -1, size: 0, mtimeMs: 0 };

export class KnownHostsFile {
  #entries: Entry[] = [];
  #lines: string[] = [];
  #stamp: FileStamp | null = null;
  /** Entries whose every pattern is a plain positive name, by that (lower-case) name. */
  #byName = new Map<string, Entry[]>();
  /** Entries with a wildcard, negated or hashed pattern: matched one by one. */
  #general: Entry[] = [];
  /** Matches among #general per host name, until the file changes. */
  #generalMemo = new Map<string, Entry[]>();

  constructor(readonly file: string) {}

  /** Compare a presented key with the file. Never writes. */
  check(addr: string, port: number, blob: Buffer): HostKeyCheck {
    this.#refresh(false);
    return this.#check(hostPattern(addr, port), blob);
  }

  /** Key types on file for a host: offered first so the server presents the key we know. */
  knownTypes(addr: string, port: number): string[] {
    this.#refresh(false);
    return [...new Set(this.#lookup(hostPattern(addr, port)).map((e) => e.type))];
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
    this.#refresh(false);
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
      const before = stampKey(this.#stamp);
      const out: string[] = [];
      const byLine = new Map(this.#entries.map((e) => [e.line, e]));
      this.#lines.forEach((text, i) => {
        const entry = byLine.get(i);
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
      if (stampKey(stampOf(this.file)) !== before && attempt < 4) {
        fs.rmSync(tmp, { force: true });
        continue;
      }
      fs.renameSync(tmp, this.file);
      this.#refresh(true);
      return;
    }
  }

  /** Entries naming this host, in file order. */
  #lookup(name: string): Entry[] {
    const exact = this.#byName.get(name);
    if (this.#general.length === 0) return exact ?? [];
    let general = this.#generalMemo.get(name);
    if (!general) {
      general = this.#general.filter((e) => matches(e.patterns, name));
      this.#generalMemo.set(name, general);
    }
    if (!exact) return general;
    return [...exact, ...general].sort((a, b) => a.line - b.line);
  }

  #check(name: string, blob: Buffer): HostKeyCheck {
    const mine = this.#lookup(name);
    if (mine.length === 0) return { status: 'unknown' };
    if (mine.some((e) => e.blob.equals(blob))) return { status: 'known' };
    // A different key — of the same type, or only keys of other types on file.
    // OpenSSH would prefer the known type (we do too, see knownTypes), so a
    // server that no longer presents any known key is treated as changed.
    const type = keyTypeOf(blob);
    const sorted = [...mine.filter((e) => e.type === type), ...mine.filter((e) => e.type !== type)];
    return { status: 'changed', expected: [...new Set(sorted.map((e) => fingerprint(e.blob)))] };
  }

  /** Bring the entries up to date with the file: nothing, the appended lines, or everything. */
  #refresh(force: boolean): void {
    const stamp = stampOf(this.file);
    const prev = this.#stamp;
    if (!force && prev && stampKey(stamp) === stampKey(prev)) return;
    if (!force && prev && prev.ino !== -1 && stamp.ino === prev.ino && stamp.size > prev.size && this.#readAppended(prev.size, stamp)) return;
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      // missing file: no entries
    }
    this.#stamp = stamp;
    this.#lines = [];
    this.#entries = [];
    this.#byName = new Map();
    this.#general = [];
    this.#generalMemo = new Map();
    this.#addLines(text.split('\n'));
  }

  /**
   * Parse only what was appended since `from`. False (the caller re-reads
   * everything) when the new bytes do not start and end on a line boundary.
   */
  #readAppended(from: number, stamp: FileStamp): boolean {
    let chunk: Buffer;
    try {
      const fd = fs.openSync(this.file, 'r');
      try {
        chunk = Buffer.alloc(stamp.size - from + 1);
        // One byte before `from`: it must be the newline that ended the last line we read.
        const n = fs.readSync(fd, chunk, 0, chunk.length, from - 1);
        chunk = chunk.subarray(0, n);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return false;
    }
    if (chunk.length < 2 || chunk[0] !== 0x0a || chunk[chunk.length - 1] !== 0x0a) return false;
    // The last element of #lines is the '' after the final newline: the new lines replace it.
    if (this.#lines.length > 0 && this.#lines[this.#lines.length - 1] === '') this.#lines.pop();
    this.#addLines(chunk.subarray(1).toString('utf8').split('\n'));
    this.#stamp = { ino: stamp.ino, size: from + chunk.length - 1, mtimeMs: stamp.mtimeMs };
    this.#generalMemo = new Map();
    return true;
  }

  #addLines(lines: string[]): void {
    for (const raw of lines) {
      const line = this.#lines.length;
      this.#lines.push(raw);
      const parsed = parseLine(raw);
      if (!parsed) continue;
      const entry: Entry = { line, ...parsed };
      this.#entries.push(entry);
      if (entry.patterns.every(isPlainName)) {
        for (const p of new Set(entry.patterns.map((x) => x.toLowerCase()))) {
          const list = this.#byName.get(p);
          if (list) list.push(entry);
          else this.#byName.set(p, [entry]);
        }
      } else {
        this.#general.push(entry);
      }
    }
  }
}

function entryLine(addr: string, port: number, blob: Buffer): string {
  return `${hostPattern(addr, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`;
}

function stampOf(file: string): FileStamp {
  try {
    // No exception for the common "not created yet": this runs on every connect.
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return st ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : MISSING;
  } catch {
    return MISSING;
  }
}

function stampKey(s: FileStamp | null): string {
  return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '';
}
