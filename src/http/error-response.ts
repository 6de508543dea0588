// Every HTTP error answer is built here, from the error table: the code's
// status and `{code, message[, details]}`. An INTERNAL error is a bug or a
// dependency failing in a way no code names; its message is whatever the
// exception said (paths, SQL, a worker's last words), so the client gets only
// "internal error" and the request id, and the log gets the rest.
import type { Logger } from 'pino';
import { TendhostError, asTendhostError } from '../../common/errors.js';
import type { HttpResponse } from './uws.js';

export function errorResponse(err: TendhostError, requestId: string, headers?: Record<string, string>): HttpResponse {
  return { status: err.status, body: JSON.stringify(err.toWire()), headers, requestId };
}

/** What the client may see of an error: INTERNAL ones are replaced by a pointer to the log. */
export function clientError(err: TendhostError, requestId: string): TendhostError {
  if (err.code !== 'INTERNAL') return err;
  return new TendhostError('INTERNAL', `internal error; the daemon log has the details under request id ${requestId}`, { request_id: requestId });
}

/** Any thrown value as an answer; every 5xx is logged with the request id, its cause and stack. */
export function failureResponse(thrown: unknown, requestId: string, log: Logger): HttpResponse {
  const e = asTendhostError(thrown);
  if (e.status >= 500) {
    // A wrapped exception (asTendhostError, WORKER_UNAVAILABLE) is the error's cause.
    const cause = e.cause instanceof Error ? e.cause : null;
    log.error({ req_id: requestId, err: e.toWire(), cause: cause?.message, stack: (cause ?? e).stack }, 'request failed');
  }
  return errorResponse(clientError(e, requestId), requestId);
}
