// The one error table: every error tendhost reports has a stable code, an HTTP
// status and a message. Errors cross thread boundaries as plain data
// ({code, message, details}) because `instanceof` does not survive structured
// clone; `fromWire` rebuilds the class on the other side.

export const ERROR_CODES = {
  // request surface
  VALIDATION_FAILED: { status: 400, message: 'request is invalid' },
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  UNAUTHORIZED: { status: 401, message: 'missing or invalid bearer token' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  HOST_NOT_FOUND: { status: 404, message: 'host not found' },
  GROUP_NOT_FOUND: { status: 404, message: 'group not found' },
  JOB_NOT_FOUND: { status: 404, message: 'job not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  HOST_BUSY: { status: 409, message: 'host is busy' },
  HOST_EXISTS: { status: 409, message: 'host already exists' },
  HOST_NOT_FAILED: { status: 409, message: 'host is not in the failed state' },
  HOST_FAILED: { status: 409, message: 'host is failed; retry or acknowledge it first' },
  INVALID_HOST_STATE: { status: 409, message: 'the host is not in a state that allows this' },
  NOTHING_TO_ACCEPT: { status: 409, message: 'host has no pending host key to accept' },
  JOB_FINISHED: { status: 409, message: 'job has already finished' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'request body must be application/json' },
  RATE_LIMITED: { status: 429, message: 'too many requests' },
  INTERNAL: { status: 500, message: 'internal error' },
  WORKER_UNAVAILABLE: { status: 503, message: 'the worker that owns this host is unavailable' },
  DASHBOARD_NOT_BUILT: { status: 503, message: 'the dashboard assets are not built (run make build)' },
  CLUSTER_UNAVAILABLE: { status: 503, message: 'this node cannot reach the cluster (NATS); reads still work, commands do not' },
  PARTITION_UNOWNED: { status: 503, message: 'no cluster node owns this host right now (a handover is under way); retry' },
  CLUSTER_ANSWER_TOO_LARGE: { status: 502, message: "the owning node's answer is larger than one NATS message may be; ask that node directly" },

  // host operations (reported in HostStatus.error and job results; HTTP status
  // is what a synchronous call would get if one surfaced)
  SSH_CONNECTION_REFUSED: { status: 502, message: 'connection refused' },
  SSH_UNREACHABLE: { status: 502, message: 'host unreachable' },
  SSH_TIMEOUT: { status: 504, message: 'connection timed out' },
  SSH_AUTH_FAILED: { status: 502, message: 'authentication failed' },
  SSH_HOST_KEY_UNKNOWN: { status: 502, message: 'host key is not known (strict policy)' },
  SSH_HOST_KEY_MISMATCH: { status: 502, message: 'host key changed' },
  SSH_KEY_INVALID: { status: 500, message: 'ssh private key cannot be used' },
  SSH_NO_KEY: { status: 500, message: 'no ssh key available' },
  SSH_DISCONNECTED: { status: 502, message: 'connection lost' },
  COMMAND_TIMEOUT: { status: 504, message: 'command timed out' },
  OUTPUT_TRUNCATED: { status: 502, message: 'command output was truncated' },
  SUDO_PASSWORD_REQUIRED: { status: 502, message: 'sudo needs a password' },
  PACKAGE_MANAGER_LOCKED: { status: 409, message: 'package manager is locked by another process' },
  PKG_REPO_UNREACHABLE: { status: 502, message: 'package repository unreachable' },
  PKG_PERMISSION_DENIED: { status: 502, message: 'permission denied' },
  PKG_DISK_FULL: { status: 507, message: 'disk full' },
  PKG_UNKNOWN_MANAGER: { status: 422, message: 'no supported package manager found' },
  PKG_COMMAND_FAILED: { status: 502, message: 'package command failed' },
  REGISTRY_UNREACHABLE: { status: 502, message: 'image registry unreachable' },
  REGISTRY_REFUSED: { status: 502, message: 'image registry refused the request' },
  REGISTRY_TAG_NOT_FOUND: { status: 502, message: 'image tag not found in its registry' },
  COMPOSE_SERVICE_FAILED: { status: 502, message: 'a Compose service did not come up on its new image' },
  REBOOT_TIMEOUT: { status: 504, message: 'host did not come back after reboot' },
  VERIFY_FAILED: { status: 502, message: 'post-reboot verification failed' },
  INTERRUPTED: { status: 500, message: 'operation interrupted' },
  WORKER_FAILED: { status: 500, message: 'worker thread failed' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * What a command run on a host can fail with: reaching it over SSH, running
 * the command (sudo, timeouts, output cap), and the package tools' failures
 * that classify.ts reads from its output.
 */
export const HOST_COMMAND_ERRORS = [
  'SSH_CONNECTION_REFUSED',
  'SSH_UNREACHABLE',
  'SSH_TIMEOUT',
  'SSH_AUTH_FAILED',
  'SSH_HOST_KEY_UNKNOWN',
  'SSH_HOST_KEY_MISMATCH',
  'SSH_KEY_INVALID',
  'SSH_NO_KEY',
  'SSH_DISCONNECTED',
  'COMMAND_TIMEOUT',
  'OUTPUT_TRUNCATED',
  'SUDO_PASSWORD_REQUIRED',
  'PACKAGE_MANAGER_LOCKED',
  'PKG_REPO_UNREACHABLE',
  'PKG_PERMISSION_DENIED',
  'PKG_DISK_FULL',
  'PKG_UNKNOWN_MANAGER',
  'PKG_COMMAND_FAILED',
] as const satisfies readonly ErrorCode[];

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class TendhostError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  /** `cause`: what went wrong underneath; logged, never sent (toWire leaves it out). */
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'TendhostError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Rebuild an error that crossed a MessagePort; unknown shapes become INTERNAL. */
export function fromWire(wire: unknown): TendhostError {
  if (wire && typeof wire === 'object') {
    const w = wire as Partial<WireError>;
    if (isErrorCode(w.code)) return new TendhostError(w.code, String(w.message ?? ''), w.details);
  }
  return new TendhostError('INTERNAL', wire instanceof Error ? wire.message : String(wire));
}

/** Any thrown value as a TendhostError (keeps typed errors, wraps the rest). */
export function asTendhostError(err: unknown, fallback: ErrorCode = 'INTERNAL'): TendhostError {
  if (err instanceof TendhostError) return err;
  if (err && typeof err === 'object' && isErrorCode((err as WireError).code)) return fromWire(err);
  return new TendhostError(fallback, err instanceof Error ? err.message : String(err), undefined, { cause: err });
}
