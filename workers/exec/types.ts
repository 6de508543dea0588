// The executor interface every host operation goes through. `local.ts` runs
// commands as child processes (the shipped `localhost` host); `ssh.ts` runs
// them over a pooled ssh2 session. Failures that prevent a command from
// running at all (connect, auth, host key) are thrown as TendhostError with
// the SSH_* codes; a command that ran and exited non-zero is a normal result.

export interface ExecOptions {
  /** Kill the command (and report COMMAND_TIMEOUT) after this long. */
  timeoutMs: number;
  /** Needs root: prefixed with `sudo -n` when the login user is not root. */
  root?: boolean;
  /** Cap on stdout + stderr kept; past it the output is cut and `truncated` set. */
  maxOutputBytes?: number;
  /** Called with each stdout chunk as it arrives (progress parsing). */
  onStdout?: (chunk: string) => void;
  /** Called with each stderr chunk as it arrives (Compose writes its progress there). */
  onStderr?: (chunk: string) => void;
  /** Written to the command's stdin, which is then closed: secrets go here, never into the command line. */
  input?: string;
  /** Kill the command now (the caller decided it waited long enough; the result comes as usual). */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  truncated: boolean;
  timedOut: boolean;
}

/**
 * Connection lifecycle notices an executor reports to its actor. `quiet`
 * marks a close tendhost made for its own housekeeping (idle timeout, a
 * session slot given to another host, shutdown): the host is as reachable as
 * before, and the next command reconnects transparently.
 */
export type ExecutorNotice =
  | { kind: 'connected' }
  | { kind: 'disconnected'; reason: string; quiet?: boolean };

export interface Executor {
  run(command: string, opts: ExecOptions): Promise<ExecResult>;
  /** Drop any open connection (next run reconnects). */
  disconnect(reason: string): void;
  /** Release everything; later runs fail. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
