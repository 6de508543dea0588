// The request headers the daemon reads, by kind of request: the server copies
// only these out of uWS (each is a call into it), which keeps the hot path
// short, and the request pipeline may read no others.
export const REQUEST_HEADERS = {
  /** GET and HEAD. If-None-Match and Accept-Encoding: the dashboard's assets answer 304 or gzip. */
  read: ['authorization', 'x-request-id', 'if-none-match', 'accept-encoding'],
  /** Requests with a body. */
  body: ['authorization', 'x-request-id', 'content-type', 'content-length', 'transfer-encoding'],
  /** The /ws/events upgrade (browsers may carry the token as a subprotocol). */
  upgrade: ['authorization', 'x-request-id', 'sec-websocket-protocol'],
} as const;
