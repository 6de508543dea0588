// Host data (names, errors, package names, event text) reaches the terminal
// only through here: control characters (C0, DEL, C1 — ESC among them) are
// dropped, so a host cannot move the cursor, recolour or retitle the screen.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function clean(text: unknown): string {
  if (text === null || text === undefined) return '';
  return String(text).replace(CONTROL, (c) => (c === '\n' || c === '\t' ? ' ' : ''));
}

/** Exactly `width` columns: cut (with an ellipsis) or padded with spaces. Counts code points. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  return text + ' '.repeat(width - chars.length);
}

/** At most `width` columns, no padding. */
export function cut(text: string, width: number): string {
  const chars = Array.from(text);
  return chars.length > width ? fit(text, width) : text;
}
