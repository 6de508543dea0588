// Audit lines to the local syslog daemon as RFC 5424 messages (facility
// authpriv, severity info). Node has no unix *datagram* sockets, and /dev/log
// is a datagram socket on most systems (journald, rsyslog). So:
//   1. try a stream connection to the socket (syslog-ng `unix-stream`, or any
//      stream listener): messages are written newline-terminated;
//   2. if the socket is a datagram socket (EPROTOTYPE), hand the lines to
//      util-linux `logger --socket <path> --rfc5424` running as one long-lived
//      child that reads one message per stdin line;
//   3. if neither works (no socket, no `logger`), warn once and drop lines,
//      counting them — the audit file stays the record of truth.
// Writes never block the daemon: lines are queued in memory (bounded).
import { connect, type Socket } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AuditSink } from './audit-log.js';

export interface SyslogOptions {
  /** Default /dev/log. */
  path?: string;
  /** The logger(1) binary for datagram sockets; null disables that fallback. */
  loggerBin?: string | null;
  /** Lines kept while (re)connecting; the oldest are dropped beyond this. */
  maxQueue?: number;
  appName?: string;
}

type Transport = { kind: 'stream'; sock: Socket } | { kind: 'logger'; child: ChildProcess } | { kind: 'none' };

const FACILITY_AUTHPRIV = 10;
const SEVERITY_INFO = 6;
const PRI = FACILITY_AUTHPRIV * 8 + SEVERITY_INFO;

/** `<86>1 2024-01-01T00:00:00.000Z host tendhost 123 audit - {json}` */
export function rfc5424(line: string, appName = 'tendhost', host = hostname(), pid = process.pid, at = new Date()): string {
  const field = (s: string, max: number) => (s.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-');
  return `<${PRI}>1 ${at.toISOString()} ${field(host, 255)} ${field(appName, 48)} ${pid} audit - ${line}`;
}

export class SyslogSink implements AuditSink {
  readonly #path: string;
  readonly #loggerBin: string | null;
  readonly #maxQueue: number;
  readonly #app: string;
  readonly #log: Logger;
  #transport: Transport | null = null;
  #connecting: Promise<Transport> | null = null;
  #queue: string[] = [];
  #warned = false;
  dropped = 0;
  sent = 0;

  constructor(log: Logger, opts: SyslogOptions = {}) {
    this.#log = log;
    this.#path = opts.path ?? '/dev/log';
    this.#loggerBin = opts.loggerBin === undefined ? '/usr/bin/logger' : opts.loggerBin;
    this.#maxQueue = opts.maxQueue ?? 10_000;
    this.#app = opts.appName ?? 'tendhost';
  }

  /** Which transport is in use, once known ('stream', 'logger', 'none'). */
  get mode(): Transport['kind'] | 'pending' {
    return this.#transport?.kind ?? 'pending';
  }

  write(lines: string[]): void {
    for (const l of lines) this.#queue.push(l);
    const over = this.#queue.length - this.#maxQueue;
    if (over > 0) {
      this.#queue.splice(0, over);
      this.dropped += over;
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const t = this.#transport ?? (await (this.#connecting ??= this.#open()));
    if (this.#queue.length === 0) return;
    const lines = this.#queue;
    this.#queue = [];
    if (t.kind === 'none') {
      this.dropped += lines.length;
      return;
    }
    if (t.kind === 'stream') {
      t.sock.write(lines.map((l) => rfc5424(l, this.#app)).join('\n') + '\n');
    } else {
      // logger(1) builds the RFC 5424 header itself; it gets the bare line.
      t.child.stdin?.write(lines.join('\n') + '\n');
    }
    this.sent += lines.length;
  }

  #open(): Promise<Transport> {
    return new Promise<Transport>((resolve) => {
      const done = (t: Transport) => {
        this.#transport = t;
        this.#connecting = null;
        resolve(t);
      };
      if (!existsSync(this.#path)) {
        this.#unavailable(`${this.#path} does not exist`);
        return done({ kind: 'none' });
      }
      const sock = connect(this.#path);
      sock.once('connect', () => {
        sock.on('error', (err) => this.#lost(`syslog stream ${this.#path}: ${err.message}`));
        sock.on('close', () => this.#lost(`syslog stream ${this.#path} closed`));
        sock.unref();
        done({ kind: 'stream', sock });
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        if (this.#transport) return;
        sock.destroy();
        // A datagram socket refuses stream connections with EPROTOTYPE.
        if (err.code === 'EPROTOTYPE' && this.#loggerBin && existsSync(this.#loggerBin)) return done(this.#spawnLogger());
        this.#unavailable(`${this.#path}: ${err.code ?? err.message}${err.code === 'EPROTOTYPE' ? ' (datagram socket, and no logger(1) to reach it)' : ''}`);
        done({ kind: 'none' });
      });
    });
  }

  #spawnLogger(): Transport {
    const child = spawn(
      this.#loggerBin as string,
      ['--socket', this.#path, '--rfc5424=notq', '--socket-errors=off', `--id=${process.pid}`, '-t', this.#app, '-p', 'authpriv.info', '--msgid', 'audit'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    child.stdin?.on('error', () => {});
    child.stderr?.on('data', (c) => this.#log.warn({ stderr: String(c).trim() }, 'syslog: logger(1) complained'));
    child.on('exit', (code) => this.#lost(`logger(1) exited with ${code}`));
    child.unref();
    (child.stdin as unknown as { unref?: () => void })?.unref?.();
    this.#log.info({ socket: this.#path }, 'audit to syslog through logger(1): the socket is a datagram socket');
    return { kind: 'logger', child };
  }

  /** The transport went away: the next write reconnects. */
  #lost(reason: string): void {
    if (this.#transport?.kind === 'none' || this.#closed) return;
    this.#log.warn({ reason }, 'syslog audit transport lost; reconnecting on the next line');
    this.#transport = null;
  }

  #unavailable(reason: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#log.warn({ reason }, 'syslog is unavailable: audit lines go to the audit file only');
  }

  #closed = false;

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#queue.length > 0) await this.#pump();
    this.#closed = true;
    const t = this.#transport;
    this.#transport = { kind: 'none' };
    if (t?.kind === 'stream') await new Promise<void>((r) => t.sock.end(r));
    if (t?.kind === 'logger') {
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          t.child.kill();
          r();
        }, 2000);
        t.child.once('exit', () => {
          clearTimeout(timer);
          r();
        });
        t.child.stdin?.end();
      });
    }
  }
}
