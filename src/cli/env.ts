// What a command may touch of the outside world: the daemon's address and
// token, and the terminal. Tests build one with their own streams.
import type { Writable, Readable } from 'node:stream';

export interface CliEnv {
  /** From TENDHOST_URL (a --url flag wins). */
  url: string | undefined;
  /** From TENDHOST_TOKEN (a --token flag wins); never printed. */
  token: string | undefined;
  /** From TENDHOST_CA: a PEM file for a daemon whose certificate a private CA signed. */
  caFile: string | undefined;
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /** stdout is a terminal: live progress and colour-free tables sized to it. */
  isTTY: boolean;
  columns: number;
  /** Ctrl-C while following: the runner registers one handler at a time. */
  onInterrupt(fn: () => void): () => void;
}

export function processEnv(): CliEnv {
  const out = process.stdout;
  return {
    url: process.env.TENDHOST_URL || undefined,
    token: process.env.TENDHOST_TOKEN || undefined,
    caFile: process.env.TENDHOST_CA || undefined,
    stdout: out,
    stderr: process.stderr,
    stdin: process.stdin,
    isTTY: out.isTTY === true,
    columns: out.isTTY ? out.columns || 80 : 120,
    onInterrupt(fn) {
      process.on('SIGINT', fn);
      return () => process.off('SIGINT', fn);
    },
  };
}
