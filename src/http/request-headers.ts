// The request headers the daemon reads, by kind of request: the server copies
// only these out of uWS (each is a call into it, on every request), and the
// request pipeline may read no others. A route whose handler reads more names
// them in `Route.headers`; they are copied once the route is known.
export interface RequestHeaderLists {
  /** GET and HEAD. */
  read: readonly string[];
  /** Requests with a body. */
  body: readonly string[];
  /** The /ws/events upgrade (browsers may carry the token as a subprotocol). */
  upgrade: readonly string[];
}

const PIPELINE_HEADERS: RequestHeaderLists = {
  read: ['x-request-id'],
  body: ['x-request-id', 'content-type', 'content-length', 'transfer-encoding'],
  upgrade: ['x-request-id', 'sec-websocket-protocol'],
};

/** The lists for a daemon that checks API tokens (Authorization read too) or not. */
export function requestHeaderLists(checkTokens: boolean): RequestHeaderLists {
  if (!checkTokens) return PIPELINE_HEADERS;
  return {
    read: ['authorization', ...PIPELINE_HEADERS.read],
    body: ['authorization', ...PIPELINE_HEADERS.body],
    upgrade: ['authorization', ...PIPELINE_HEADERS.upgrade],
  };
}
