// A command's stdout and stderr, kept up to one byte cap shared by both and
// streamed to the caller's callbacks as UTF-8 text. Both executors (local.ts,
// ssh-channel.ts) collect output this way, so they cut and report it alike.
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_MAX_OUTPUT_BYTES, type ExecOptions } from './types.js';

type Sink = (chunk: Buffer) => void;

export class CappedOutput {
  readonly stdout: Sink;
  readonly stderr: Sink;
  #kept = 0;
  #truncated = false;
  /** Set once the run ended: late chunks are drained and dropped. */
  #ended = false;
  readonly #max: number;
  readonly #onFull: () => void;
  readonly #out: Buffer[] = [];
  readonly #err: Buffer[] = [];
  readonly #outText: TextStream | null;
  readonly #errText: TextStream | null;

  /** `onFull` runs once, when the cap is reached: the caller stops the command. */
  constructor(opts: Pick<ExecOptions, 'maxOutputBytes' | 'onStdout' | 'onStderr'>, onFull: () => void) {
    this.#max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.#onFull = onFull;
    this.#outText = textStream(opts.onStdout);
    this.#errText = textStream(opts.onStderr);
    this.stdout = (chunk) => this.#take(this.#out, this.#outText, chunk);
    this.stderr = (chunk) => this.#take(this.#err, this.#errText, chunk);
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** Take no more chunks (the run was settled another way). */
  end(): void {
    this.#ended = true;
  }

  /** The text kept; flushes the callbacks' last partial characters. */
  finish(): { stdout: string; stderr: string } {
    this.#ended = true;
    this.#outText?.end();
    this.#errText?.end();
    return { stdout: Buffer.concat(this.#out).toString('utf8'), stderr: Buffer.concat(this.#err).toString('utf8') };
  }

  #take(into: Buffer[], text: TextStream | null, chunk: Buffer): void {
    if (this.#truncated || this.#ended) return; // keep draining so the close completes
    if (this.#kept + chunk.length > this.#max) {
      const part = chunk.subarray(0, this.#max - this.#kept);
      into.push(part);
      if (part.length > 0) text?.write(part);
      this.#kept = this.#max;
      this.#truncated = true;
      this.#onFull();
      return;
    }
    this.#kept += chunk.length;
    into.push(chunk);
    text?.write(chunk);
  }
}

interface TextStream {
  write(chunk: Buffer): void;
  end(): void;
}

/** Decodes a stream's chunks as UTF-8 for a callback (a character split across chunks stays whole). */
function textStream(fn: ((chunk: string) => void) | undefined): TextStream | null {
  if (!fn) return null;
  const decoder = new StringDecoder('utf8');
  return {
    write: (chunk) => {
      const text = decoder.write(chunk);
      if (text) fn(text);
    },
    end: () => {
      const tail = decoder.end();
      if (tail) fn(tail);
    },
  };
}
