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

/** Exactly `width` columns: cut (with an ellipsis) or padded with spaces. Counts code points. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (PLAIN.test(text)) {
    if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
    return text.length === width ? text : text + ' '.repeat(width - text.length);
  }
  const chars = Array.from(text);
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  return text + ' '.repeat(width - chars.length);
}

/** At most `width` columns, no padding. */
export function cut(text: string, width: number): string {
  const chars = Array.from(text);
  return chars.length > width ? fit(text, width) : text;
}
