// The command line's exit codes (documented in the README, "Command line").
export const CLI_EXIT = {
  /** Done; a followed job succeeded on every host. */
  OK: 0,
  /** The operation or the job failed (or following was interrupted before it ended). */
  FAILED: 1,
  /** Bad command line: unknown command or flag, bad value. */
  USAGE: 2,
  /** The daemon cannot be reached, or refused the token. */
  UNREACHABLE: 3,
  /** No such host, job or group. */
  NOT_FOUND: 4,
} as const;
export type CliExit = (typeof CLI_EXIT)[keyof typeof CLI_EXIT];
