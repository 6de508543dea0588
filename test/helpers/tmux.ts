// A real terminal for tests: a detached tmux session of a fixed size running
// one command; the screen is read with capture-pane (-J: wrapped lines joined). Each session has its own
// name (and its own tmux server socket) and is killed by that name.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { until } from './daemon.js';

const run = promisify(execFile);

export interface Terminal {
  name: string;
  screen(): Promise<string>;
  /** Poll the screen until `pred` holds; the screen then. */
  waitFor(pred: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
  keys(...keys: string[]): Promise<void>;
  kill(): Promise<void>;
}

export async function tmuxAvailable(): Promise<boolean> {
  return run('tmux', ['-V']).then(
    () => true,
    () => false,
  );
}

export async function openTerminal(command: string, o: { width?: number; height?: number; env?: Record<string, string> } = {}): Promise<Terminal> {
  const name = `tendhost-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', name, ...args], { env: { ...process.env, ...o.env } });
  await tmux('new-session', '-d', '-s', name, '-x', String(o.width ?? 120), '-y', String(o.height ?? 40), command);
  const screen = async () => (await tmux('capture-pane', '-p', '-J', '-t', name)).stdout;
  return {
    name,
    screen,
    async waitFor(pred, timeoutMs = 30_000) {
      let last = '';
      try {
        return await until(async () => {
          last = await screen().catch(() => last);
          return pred(last) ? last : null;
        }, timeoutMs, 100);
      } catch {
        throw new Error(`the screen never showed what was expected; last screen:\n${last}`);
      }
    },
    async keys(...keys) {
      await tmux('send-keys', '-t', name, ...keys);
    },
    async kill() {
      await tmux('kill-server').catch(() => {});
    },
  };
}
