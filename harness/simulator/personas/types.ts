// What a persona is: an OS identity plus a handler that answers the command
// strings of workers/pkg/commands.ts the way the real tools on that OS do.
import type { PersonaName, SimHost } from '../host.js';

export interface SimEnv {
  /** Epoch ms the simulator started (dnf's "Last metadata expiration check"). */
  startedAt: number;
  now(): number;
  /** Resolves after ms unless the simulator stops first. */
  sleep(ms: number): Promise<void>;
  stopped(): boolean;
}

export interface ExecCtx {
  host: SimHost;
  /** The command after any `sudo -n` / `sh -c` wrapper was taken off. */
  command: string;
  /** Runs as root (login as root, or through sudo). */
  root: boolean;
  /** apt's `-o DPkg::Lock::Timeout=N` (taken off `command`): how long a held lock is waited for. */
  lockTimeoutS: number;
  env: SimEnv;
  /** Streams stdout before the final result (for commands that wait). */
  write(out: string): void;
  /** The client went away (the channel or connection closed). */
  closed(): boolean;
}

export type Outcome =
  | { kind: 'exit'; stdout: string; stderr: string; code: number }
  | { kind: 'hang' }
  /** The connection goes away mid-command, as when a link or the host's sshd dies. */
  | { kind: 'drop' }
  | { kind: 'reboot' };

export type Handler = (ctx: ExecCtx) => Outcome | Promise<Outcome> | undefined;

export interface Persona {
  name: PersonaName;
  osRelease: string;
  /** Absolute paths of the tools `command -v` finds on this OS. */
  tools: readonly string[];
  handle: Handler;
}

export function exit(code: number, stdout = '', stderr = ''): Outcome {
  return { kind: 'exit', stdout, stderr, code };
}

/** Small stable hash (FNV-1a) for deterministic per-package sizes. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
