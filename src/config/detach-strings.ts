// Strings the TOML parser returns can be V8 "sliced strings": views into the
// file's text that keep the whole text alive. A config kept for the daemon's
// life (and one per SIGHUP reload, each pinned by the hosts it added) would
// hold every file it was read from — 1.5 MB per reload at 10,000 hosts, seen
// as steady front-heap growth in the 30-minute soak. Copying each string
// value once after parsing lets the text go.

/** The same tree with every string value copied out of whatever it was sliced from. */
export function detachStrings<T>(value: T): T {
  if (typeof value === 'string') return copyString(value) as T;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = detachStrings(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = detachStrings(obj[key]);
  }
  return value;
}

/**
 * A copy that shares no storage with `s`: the concatenation is flattened into
 * a new string when sliced, so the result refers to that, not to the source.
 * (Property names need no copy: V8 internalizes them.)
 */
function copyString(s: string): string {
  return (' ' + s).slice(1);
}
