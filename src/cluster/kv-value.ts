// A KV value another process wrote, read without throwing: a watch whose loop
// threw on one bad value (not JSON, or not the shape it should have) would
// stop following its bucket for good, and the view it feeds would go stale;
// a listing that threw would leave out every good value with it.

/** The value parsed and checked, or null when it is not JSON or fails `ok`. */
export function kvJson<T>(entry: { string(): string }, ok: (v: unknown) => v is T): T | null {
  try {
    const v: unknown = JSON.parse(entry.string());
    return ok(v) ? v : null;
  } catch {
    return null;
  }
}

/** `{node_id, instance}`, the part of a lease or member value every reader uses. */
export function namesNode(v: unknown): v is { node_id: string; instance: string } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { node_id?: unknown; instance?: unknown };
  return typeof o.node_id === 'string' && typeof o.instance === 'string';
}

/** Why a value in a listing could not be read, naming its bucket and key (a check's own error already does). */
export function unreadable(err: unknown, bucket: string, key: string): Error {
  return err instanceof SyntaxError ? new Error(`${bucket} ${key}: not JSON`) : (err as Error);
}
