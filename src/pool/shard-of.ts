// A host's shard: FNV-1a of its name modulo the worker count. Stable across
// restarts for the same worker count, cheap, and well spread for names that
// differ only in a trailing number.
export function shardOf(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
