// A program in a real terminal: tmux on a socket of its own (so nothing else's
// sessions are touched), keys typed with send-keys, the screen read with
// capture-pane. When CI=true a missing tmux is a failure, not a skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { until } from '../../harness/daemon.js';

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

export interface Terminal {
  name: string;
  /** Keys as tmux names them (`j`, `Enter`, `Escape`, `PageDown`) or literal text with `literal`. */
  keys(...keys: string[]): void;
  type(text: string): void;
  screen(): string;
  /** The screen once `pred` holds (or the test fails with the last screen). */
  waitFor(pred: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  alive(): boolean;
  resize(width: number, height: number): void;
  close(): void;
}

/** `joinWrapped`: lines the terminal wrapped are read back as one (capture-pane -J), for output that is not sized to the screen. */
export function openTerminal(command: string, opts: { width?: number; height?: number; env?: Record<string, string>; joinWrapped?: boolean } = {}): Terminal {
  const name = `tendhost-top-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const base = ['-L', name, '-f', '/dev/null'];
  const tmux = (...args: string[]) => execFileSync('tmux', [...base, ...args], { encoding: 'utf8' });
  const envArgs = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', name, '-x', String(opts.width ?? 160), '-y', String(opts.height ?? 48), ...envArgs, command);
  let closed = false;
  const term: Terminal = {
    name,
    keys: (...keys) => void tmux('send-keys', '-t', name, ...keys),
    type: (text) => void tmux('send-keys', '-t', name, '-l', text),
    screen: () => tmux('capture-pane', '-p', ...(opts.joinWrapped ? ['-J'] : []), '-t', name),
    async waitFor(pred, what, timeoutMs = 20_000) {
      let last = '';
      try {
        return await until(() => {
          last = term.screen();
          return pred(last) ? last : null;
        }, timeoutMs, 100);
      } catch {
        throw new Error(`the terminal never showed ${what}; last screen:\n${last}`);
      }
    },
    resize: (width, height) => void tmux('resize-window', '-t', name, '-x', String(width), '-y', String(height)),
    alive: () => spawnSync('tmux', [...base, 'has-session', '-t', name], { stdio: 'ignore' }).status === 0,
    close() {
      if (closed) return;
      closed = true;
      // Our own server (own socket): ending this one session ends it.
      spawnSync('tmux', [...base, 'kill-session', '-t', name], { stdio: 'ignore' });
    },
  };
  return term;
}
