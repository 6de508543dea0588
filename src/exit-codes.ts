// Why the daemon ended, as its exit code (documented in the README).
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  CONFIG: 2,
  BIND: 3,
  WORKERS: 4,
  STATE: 5,
  NO_NATIVE_HTTP: 6,
} as const;
