/** A base address in 127.64.0.0–127.191.255.0 so parallel test files (and a bench beside them) do not collide. */
export function randomBase(): string {
  return `127.${64 + Math.floor(Math.random() * 128)}.${Math.floor(Math.random() * 256)}.1`;
}
