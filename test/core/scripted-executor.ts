// A scripted Executor for fast actor tests: every command the operations send
// is answered from a script (an output, an exit code, a thrown SSH error, or
// a promise the test resolves), with no SSH and no child process. The default
// script is a small Debian host with apt-get whose boot id changes when it
// reboots; each test overrides the commands its scenario is about.
import { TendhostError, type ErrorCode } from '../../common/errors.js';
import type { ExecOptions, ExecResult, Executor, ExecutorNotice } from '../../workers/exec/types.js';
import { CMD } from '../../workers/pkg/commands.js';

export type Reply = Partial<ExecResult> | Error;
/** An answer: a reply, or a function of the command that returns one (or a promise of one). */
export type Answer = Reply | ((command: string, opts: ExecOptions) => Reply | Promise<Reply>);

interface Rule {
  match: (command: string) => boolean;
  answer: Answer;
  /** How many more times this rule answers (Infinity = always). */
  left: number;
}

export const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';

/** `apt-get -s upgrade` for these packages (the lines apt-parse reads, as in fixture apt/LANG_C-get-s-nolocking-upgrade). */
export function aptSimulation(pkgs: readonly string[]): string {
  let out = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\nCalculating upgrade...\n';
  out += `${pkgs.length} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`;
  for (const p of pkgs) out += `Inst ${p} [1.0-1] (1.0-2 Debian:12.8/stable [amd64])\nConf ${p} (1.0-2 Debian:12.8/stable [amd64])\n`;
  return out;
}

/** `apt-get -y upgrade` output: the summary, then dpkg's lines (progress is parsed from them). */
export function aptUpgradeOutput(pkgs: readonly string[]): string {
  let out = `${pkgs.length} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`;
  for (const p of pkgs) out += `Unpacking ${p} (1.0-2) over (1.0-1) ...\n`;
  for (const p of pkgs) out += `Setting up ${p} (1.0-2) ...\n`;
  return out;
}

export const isAptUpgrade = (c: string): boolean => c.includes('DEBIAN_FRONTEND=noninteractive') && c.endsWith(' upgrade');

export function sshError(code: ErrorCode, message = `scripted ${code}`): TendhostError {
  return new TendhostError(code, message);
}

export class ScriptedExecutor implements Executor {
  /** Every command run, in order. */
  readonly ran: string[] = [];
  /** When each of them ran (Date.now(), so the fake clock's time under a fake clock). */
  readonly ranAt: number[] = [];
  /** Commands no rule answered (a test should expect none). */
  readonly unscripted: string[] = [];
  readonly disconnects: string[] = [];
  /** The simulated host: what is pending, whether it wants a reboot, its boot id. */
  readonly host = { pending: ['openssl', 'libc6'], rebootAfterUpgrade: false, rebootRequired: false, bootId: 'boot-1', boots: 1, up: true };
  onNotice: (n: ExecutorNotice) => void = () => {};
  /** A changed host key waits here until the operator accepts it. */
  keyToAccept = false;
  /** How many times an executor was made for the host. */
  opened = 0;
  #rules: Rule[] = [];
  #linked = false;
  #closed = false;

  constructor() {
    this.#defaults();
  }

  /** Answer `command` (exact string, regexp or predicate) with `answer`, newest rule first; `times` limits it. */
  on(command: string | RegExp | ((c: string) => boolean), answer: Answer, times = Infinity): this {
    const match = typeof command === 'string' ? (c: string) => c === command : command instanceof RegExp ? (c: string) => command.test(c) : command;
    this.#rules.unshift({ match, answer, left: times });
    return this;
  }

  /** Every command fails with this error (an unreachable host, a refused key…). */
  failAll(err: Error, times = Infinity): this {
    return this.on(() => true, err, times);
  }

  /** A command that waits until the test calls the returned release (for busy / interrupt scenarios). */
  hold(command: string | RegExp | ((c: string) => boolean), reply: Reply = { exitCode: 0 }): () => void {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    this.on(command, () => gate.then(() => reply), 1);
    return () => release();
  }

  async run(command: string, opts: ExecOptions): Promise<ExecResult> {
    if (this.#closed) throw sshError('SSH_DISCONNECTED', 'executor closed');
    this.ran.push(command);
    this.ranAt.push(Date.now());
    const rule = this.#rules.find((r) => r.left > 0 && r.match(command));
    if (!rule) {
      this.unscripted.push(command);
      return result({ exitCode: 127, stderr: `sh: unscripted: ${command}\n` });
    }
    rule.left--;
    const reply = typeof rule.answer === 'function' ? await rule.answer(command, opts) : rule.answer;
    if (reply instanceof Error) throw reply;
    if (!this.#linked) {
      this.#linked = true;
      this.onNotice({ kind: 'connected' });
    }
    const r = result(reply);
    // Like the SSH executor, stdout streams to the caller before the result.
    if (r.stdout && opts.onStdout) opts.onStdout(r.stdout);
    return r;
  }

  disconnect(reason: string): void {
    this.disconnects.push(reason);
    this.#linked = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** The operations asked for a new executor (first use, or a new address): the same script answers it. */
  reopen(): this {
    this.#closed = false;
    this.#linked = false;
    this.opened++;
    return this;
  }

  /** The Debian host: detection, apt, reboot-required, boot id, uptime, reboot. */
  #defaults(): void {
    const h = this.host;
    this.on(CMD.osRelease, { stdout: OS_RELEASE });
    this.on(CMD.detectTools, { stdout: '/usr/bin/apt-get\n' });
    this.on(CMD.aptRefresh, { stdout: 'Hit:1 http://deb.example/debian bookworm InRelease\nReading package lists...\n' });
    this.on(CMD.aptSimulate, () => ({ stdout: aptSimulation(h.pending) }));
    this.on(isAptUpgrade, () => {
      const out = aptUpgradeOutput(h.pending);
      if (h.pending.length > 0 && h.rebootAfterUpgrade) h.rebootRequired = true;
      h.pending = [];
      return { stdout: out };
    });
    this.on(CMD.aptRebootRequired, () => ({ stdout: h.rebootRequired ? 'reboot-required\nlinux-image-amd64\n' : '' }));
    this.on(CMD.bootId, () => (h.up ? { stdout: `${h.bootId}\n` } : sshError('SSH_CONNECTION_REFUSED', 'connect ECONNREFUSED')));
    this.on(CMD.health, { stdout: '12.50 20.10\n' });
    // The reboot drops the session under the command; the host comes back with a new boot id.
    this.on(CMD.reboot, () => {
      h.boots++;
      h.bootId = `boot-${h.boots}`;
      h.rebootRequired = false;
      return sshError('SSH_DISCONNECTED', 'connection lost during reboot');
    });
  }
}

function result(r: Partial<ExecResult>): ExecResult {
  return { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, truncated: false, timedOut: false, ...r };
}
