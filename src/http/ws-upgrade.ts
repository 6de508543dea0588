// Whether a /ws/events upgrade is accepted, and what the client asked for:
// its token (header, query or subprotocol), `?since=` and `?hosts=&tags=&
// groups=&types=`. Decided from the copied request alone, inside uWS's
// upgrade callback; a refusal is an error-table answer like any HTTP route's.
import { TendhostError } from '../../common/errors.js';
import type { HttpRequest, HttpResponse } from './uws.js';
import { TokenAuth, extractToken } from './auth.js';
import { requestIdOf } from './app.js';
import { errorResponse } from './error-response.js';
import { FILTER_KEYS, filterProblem, parseFilter, type EventFilter } from './ws-filter.js';

/** One stream client's own data, kept on its socket. */
export interface ClientData {
  filter: EventFilter | null;
  since: number | null;
  user: string | null;
  id: string;
  /** Bytes of the last snapshot sent: a client may buffer that much on top of the limit. */
  allowance: number;
}

/** The new client's data, or the refusal to answer the upgrade with. */
export function acceptUpgrade(req: HttpRequest, auth: TokenAuth | null): { data: ClientData } | HttpResponse {
  const id = requestIdOf(req);
  const q = new URLSearchParams(req.query);
  let user: string | null = null;
  if (auth) {
    user = auth.verify(extractToken(req.headers, q, true));
    if (!user) {
      return errorResponse(new TendhostError('UNAUTHORIZED'), id, { 'www-authenticate': 'Bearer realm="tendhost"' });
    }
  }
  const sinceRaw = q.get('since');
  let since: number | null = null;
  if (sinceRaw !== null) {
    since = Number(sinceRaw);
    if (!Number.isInteger(since) || since < 0) {
      return errorResponse(new TendhostError('VALIDATION_FAILED', 'query field "since" must be an integer >= 0', { field: 'since' }), id);
    }
  }
  const fromQuery: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) {
    const all = q.getAll(k);
    if (all.length) fromQuery[k] = all.flatMap((v) => v.split(','));
  }
  const filter = parseFilter(fromQuery);
  const problem = filterProblem(filter);
  if (problem) {
    return errorResponse(new TendhostError('VALIDATION_FAILED', `query field "types": ${problem}`, { field: 'types' }), id);
  }
  return { data: { filter, since, user, id, allowance: 0 } };
}
