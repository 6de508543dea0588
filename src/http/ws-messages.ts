// What a stream client may send (`filter`, `ping`) read into a request the
// stream acts on, or the stream's `Error` message refusing it. Pure: the
// stream (ws.ts) does the routing and the sending.
import { TendhostError, type ErrorCode } from '../../common/errors.js';
import { FILTER_KEYS, filterProblem, parseFilter, type EventFilter } from './ws-filter.js';

export type ClientMessage =
  /** `snapshot`: send the new subset's snapshot (unless the client said `snapshot: false`). */
  | { kind: 'filter'; filter: EventFilter | null; snapshot: boolean }
  | { kind: 'ping' }
  /** Refused: the `Error` message to send back. */
  | { kind: 'refused'; reply: string };

export function readClientMessage(text: string): ClientMessage {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'refused', reply: errorMessage('INVALID_JSON', 'messages must be JSON objects') };
  }
  if (msg && typeof msg === 'object' && msg.type === 'filter') {
    const unknown = Object.keys(msg).filter((k) => k !== 'type' && k !== 'snapshot' && !FILTER_KEYS.has(k));
    const filter = parseFilter(msg);
    const problem = unknown.length ? `unknown filter field(s) ${unknown.join(', ')}` : filterProblem(filter);
    if (problem) return { kind: 'refused', reply: errorMessage('VALIDATION_FAILED', problem) };
    return { kind: 'filter', filter, snapshot: msg.snapshot !== false };
  }
  if (msg && msg.type === 'ping') return { kind: 'ping' };
  return { kind: 'refused', reply: errorMessage('VALIDATION_FAILED', 'unknown message type (expected "filter" or "ping")') };
}

/** A refused client message, as the stream's `Error` message (codes from the error table). */
function errorMessage(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'Error', ...new TendhostError(code, message).toWire() });
}
