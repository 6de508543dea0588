// Host data (names, errors, package names, event text) reaches the terminal
// only through here: control characters (C0, DEL, C1 — ESC among them) are
// dropped, so a host cannot move the cursor, recolour or retitle the screen.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Text where one UTF-16 unit is one column (printable ASCII): the common case, sliced directly. */
const PLAIN = /^[\u0020-\u007e]*$/;

export function clean(text: unknown): string {
  if (text === null || text === undefined) return '';
  const s = String(text);
  // Most host text is clean: test before building a new string (frames run ~10 times a second).
  return HAS_CONTROL.test(s) ? s.replace(CONTROL, (c) => (c === '\n' || c === '\t' ? ' ' : '')) : s;
}

/** Exactly `width` columns: cut (with an ellipsis) or padded with spaces. Wide (CJK, emoji) characters take two. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (PLAIN.test(text)) {
    if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
    return text.length === width ? text : text + ' '.repeat(width - text.length);
  }
  let used = 0;
  let out = '';
  const chars = Array.from(text);
  const total = chars.reduce((n, c) => n + columnsOf(c), 0);
  if (total <= width) return text + ' '.repeat(width - total);
  for (const c of chars) {
    const w = columnsOf(c);
    if (used + w > width - 1) break;
    out += c;
    used += w;
  }
  return `${out}…${' '.repeat(width - 1 - used)}`;
}

/** Terminal columns of one code point: 0 for combining marks, 2 for East Asian wide and emoji. */
export function columnsOf(c: string): number {
  const cp = c.codePointAt(0) as number;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}
