// Raw terminal input → named keys. One `data` chunk can hold several keys
// (typed fast, or pasted), and arrows/paging arrive as escape sequences.
export type Key =
  | { name: 'char'; char: string }
  | { name: 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'enter' | 'escape' | 'backspace' | 'ctrl-c' | 'ctrl-l' };

const SEQUENCES: ReadonlyArray<[string, Key['name']]> = [
  ['\x1b[A', 'up'],
  ['\x1bOA', 'up'],
  ['\x1b[B', 'down'],
  ['\x1bOB', 'down'],
  ['\x1b[5~', 'pageup'],
  ['\x1b[6~', 'pagedown'],
  ['\x1b[H', 'home'],
  ['\x1bOH', 'home'],
  ['\x1b[1~', 'home'],
  ['\x1b[F', 'end'],
  ['\x1bOF', 'end'],
  ['\x1b[4~', 'end'],
];

export function decodeKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  outer: while (i < chunk.length) {
    const c = chunk[i];
    if (c === '\x1b') {
      for (const [seq, name] of SEQUENCES) {
        if (chunk.startsWith(seq, i)) {
          keys.push({ name } as Key);
          i += seq.length;
          continue outer;
        }
      }
      // An unknown CSI/SS3 sequence (e.g. F-keys, left/right) is skipped whole, not read as Esc + letters.
      const csi = /^\x1b(\[[0-9;?]*[ -/]*[@-~]|O[@-~])/.exec(chunk.slice(i));
      if (csi) {
        i += csi[0].length;
        continue;
      }
      keys.push({ name: 'escape' });
      i++;
      continue;
    }
    i++;
    if (c === '\r' || c === '\n') keys.push({ name: 'enter' });
    else if (c === '\x7f' || c === '\b') keys.push({ name: 'backspace' });
    else if (c === '\x03') keys.push({ name: 'ctrl-c' });
    else if (c === '\x0c') keys.push({ name: 'ctrl-l' });
    else if (c >= ' ') {
      // Keep a surrogate pair together.
      const cp = chunk.codePointAt(i - 1) as number;
      const ch = String.fromCodePoint(cp);
      if (ch.length === 2) i++;
      keys.push({ name: 'char', char: ch });
    }
  }
  return keys;
}
