// Writes frames to the terminal: the alternate screen with the cursor hidden
// while `top` runs, and per frame only the lines that changed since the last
// one (a quiet fleet costs a clock tick, not a repaint).
export interface Output {
  write(s: string): boolean;
}

export class Screen {
  #last: string[] = [];
  #entered = false;
  readonly #out: Output;

  constructor(out: Output) {
    this.#out = out;
  }

  enter(): void {
    if (this.#entered) return;
    this.#entered = true;
    this.#out.write('\x1b[?1049h\x1b[?25l\x1b[2J');
  }

  leave(): void {
    if (!this.#entered) return;
    this.#entered = false;
    this.#out.write('\x1b[0m\x1b[?25h\x1b[?1049l');
  }

  /** Forget what is on screen (after a resize or Ctrl-L): the next frame is written whole. */
  invalidate(): void {
    this.#last = [];
    if (this.#entered) this.#out.write('\x1b[2J');
  }

  /** Returns how many lines were written. */
  draw(lines: readonly string[]): number {
    let buf = '';
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      if (this.#last[i] === lines[i]) continue;
      buf += `\x1b[${i + 1};1H${lines[i]}\x1b[0m\x1b[K`;
      n++;
    }
    if (lines.length < this.#last.length) buf += `\x1b[${lines.length + 1};1H\x1b[J`;
    this.#last = lines.slice();
    if (buf) this.#out.write(buf);
    return n;
  }
}
