// The one error a client call throws: the daemon's stable code, the HTTP
// status and the request id (to find the daemon's log line), or status 0 when
// the daemon could not be reached at all.
export type ClientFailure = 'UNREACHABLE' | 'TIMEOUT' | 'BAD_RESPONSE';

export class TendhostApiError extends Error {
  override readonly name = 'TendhostApiError';
  constructor(
    /** HTTP status; 0 when no answer came (code UNREACHABLE or TIMEOUT). */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null = null,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The daemon could not be reached, or refused who we are. */
  get isConnection(): boolean {
    return this.status === 0 || this.status === 401 || this.status === 403;
  }
}

/** Build the error from a non-2xx answer (the daemon's body is `{code, message, details?}`). */
export function errorFromResponse(status: number, body: unknown, requestId: string | null): TendhostApiError {
  if (body && typeof body === 'object' && typeof (body as { code?: unknown }).code === 'string') {
    const b = body as { code: string; message?: unknown; details?: Record<string, unknown> };
    return new TendhostApiError(status, b.code, typeof b.message === 'string' ? b.message : b.code, requestId, b.details);
  }
  return new TendhostApiError(status, 'BAD_RESPONSE', `HTTP ${status} with no error body`, requestId);
}
