// The only file that touches uWebSockets.js request and response objects. It
// loads the build uws-native.ts finds (native, or the pure-JS fallback), turns uWS
// requests into plain `HttpRequest` values before any await, streams bodies
// with a byte limit, corks every write, and wraps WebSockets in `WsClient`.
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';
import { loadUwsBuild, type LoadedUws } from './uws-native.js';

export type { LoadedUws };

let loaded: LoadedUws | null = null;

/**
 * The uWS module serving this process, loaded once: a native build when one
 * loads here (see uws-native.ts), else the pure-JS fallback. The test switch
 * TENDHOST_TEST_SWITCHES=no-native-uws pretends no binary loads.
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const skipNative = (process.env.TENDHOST_TEST_SWITCHES ?? '').split(',').includes('no-native-uws');
  loaded = loadUwsBuild(skipNative);
  return loaded;
}

export interface HttpRequest {
  method: string;
  path: string;
  query: string;
  /** Only the headers in HEADERS below, lower-case names. */
  headers: Record<string, string>;
  /** Client address; empty on GET/HEAD unless `ipForReads` (rate limiting per address). */
  readonly ip: string;
  body: Buffer | null;
}

export interface HttpResponse {
  status: number;
  body: string | Buffer;
  /** Sent as X-Request-Id (kept apart from `headers` so the common answer needs no headers object). */
  requestId?: string;
  headers?: Record<string, string>;
}

/** Whatever `prepare` worked out (route, user, request id), handed back to `handle`. */
export type Prepared = { readonly prepared: true };

interface AbortState {
  aborted: boolean;
  /** Still receiving the body (counted in inFlight until it is in). */
  reading?: boolean;
  /** The answer was written (or refused): a later abort is not an abort. */
  done: boolean;
}

function isResponse(x: HttpResponse | Prepared): x is HttpResponse {
  return (x as HttpResponse).status !== undefined;
}

export interface RequestHandlers {
  /** Before any body is read: the refusal to send, or what `handle` needs. */
  prepare(req: HttpRequest): HttpResponse | Prepared;
  /** Called once the whole request (with body, if any) is in. */
  handle(req: HttpRequest, prepared: Prepared): HttpResponse | Promise<HttpResponse>;
  /** The body passed `bodyLimit` while streaming in: the refusal to send (the connection is closed after it). */
  tooLarge(req: HttpRequest, prepared: Prepared): HttpResponse;
  /** `handle` threw or its promise rejected (it is not meant to): the answer to send. Must not throw. */
  failed(req: HttpRequest, prepared: Prepared, err: unknown): HttpResponse;
  bodyLimit: number;
  /** Decode the client address on reads too (rate limiting per address needs it). */
  ipForReads: boolean;
  onAborted?(req: HttpRequest): void;
}

export interface WsClient<T> {
  readonly data: T;
  /** false when the message was not queued (socket closed) */
  send(text: string): boolean;
  bufferedAmount(): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  close(code: number, reason: string): void;
}

export interface WsHandlers<T> {
  path: string;
  idleTimeoutS: number;
  maxBackpressure: number;
  /** Return the per-client data to accept, or an HttpResponse to refuse the upgrade. */
  upgrade(req: HttpRequest): { data: T } | HttpResponse;
  open(client: WsClient<T>): void;
  message(client: WsClient<T>, text: string): void;
  close(client: WsClient<T>, code: number): void;
}

export interface ServerOptions<T> {
  host: string;
  port: number;
  tls: { cert_path: string; key_path: string } | null;
  http: RequestHandlers;
  ws: WsHandlers<T>;
}

export interface RunningServer {
  port: number;
  publish(topic: string, text: string): void;
  numSubscribers(topic: string): number;
  /** Stop listening; open connections finish what they are doing. */
  stopListening(): void;
  /** Close every connection now. */
  closeAll(): void;
  inFlight(): number;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 201: '201 Created', 202: '202 Accepted', 204: '204 No Content',
  304: '304 Not Modified', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden',
  404: '404 Not Found', 405: '405 Method Not Allowed', 409: '409 Conflict', 413: '413 Payload Too Large',
  415: '415 Unsupported Media Type', 422: '422 Unprocessable Entity', 429: '429 Too Many Requests',
  500: '500 Internal Server Error', 502: '502 Bad Gateway', 503: '503 Service Unavailable',
  504: '504 Gateway Timeout', 507: '507 Insufficient Storage',
};

function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`;
}

const textDecoder = new TextDecoder();

// The request headers the daemon reads, by kind of request; copying only
// these keeps the hot path short (each is a call into uWS).
// If-None-Match and Accept-Encoding: the dashboard's assets answer 304 or gzip.
const READ_HEADERS = ['authorization', 'x-request-id', 'if-none-match', 'accept-encoding'] as const;
const BODY_HEADERS = ['authorization', 'x-request-id', 'content-type', 'content-length', 'transfer-encoding'] as const;
const UPGRADE_HEADERS = ['authorization', 'x-request-id', 'sec-websocket-protocol'] as const;

function readRequest(req: UwsTypes.HttpRequest, res: UwsTypes.HttpResponse, ipForReads: boolean, upgrade = false): HttpRequest {
  // The pure-JS fallback (allow_slow_http) has only getMethod.
  const method = (req.getCaseSensitiveMethod ? req.getCaseSensitiveMethod() : req.getMethod()).toUpperCase();
  const names = upgrade ? UPGRADE_HEADERS : method === 'GET' || method === 'HEAD' ? READ_HEADERS : BODY_HEADERS;
  const headers: Record<string, string> = {};
  for (const h of names) {
    const v = req.getHeader(h);
    if (v !== '') headers[h] = v;
  }
  // Decoding the address costs on every read, and only writes (audit) and
  // per-address rate limiting use it. (A lazy getter closing over `res` was
  // tried: it makes V8 promote every uWS response object, doubling GC time.)
  const read = method === 'GET' || method === 'HEAD';
  return {
    method,
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    ip: !read || ipForReads ? textDecoder.decode(res.getRemoteAddressAsText()) : '',
    body: null,
  };
}

export function startServer<T>(opts: ServerOptions<T>): Promise<RunningServer> {
  const { uws } = loadUws();
  const app = opts.tls
    ? uws.SSLApp({ cert_file_name: opts.tls.cert_path, key_file_name: opts.tls.key_path })
    : uws.App();
  let inFlight = 0;
  let listenSocket: UwsTypes.us_listen_socket | null = null;
  const sockets = new Set<UwsTypes.WebSocket<T>>();

  // closeConnection: uWS closes the socket after this answer (the response
  // object is gone once it is ended, so `res.close()` afterwards would throw).
  // HEAD: the same status and headers as GET with its Content-Length, and no
  // body — uWS would send it, and a keep-alive client would read it as the next answer.
  const writeNow = (res: UwsTypes.HttpResponse, r: HttpResponse, closeConnection = false, head = false) => {
    // 200 is uWS's default status line: skip writing it on the hot path.
    if (r.status !== 200) res.writeStatus(statusLine(r.status));
    res.writeHeader('content-type', r.headers?.['content-type'] ?? 'application/json');
    if (r.requestId) res.writeHeader('x-request-id', r.requestId);
    if (r.headers) for (const k in r.headers) if (k !== 'content-type') res.writeHeader(k, r.headers[k]);
    // 204 and 304 carry no body. endWithoutBody must get no arguments here: an
    // explicit `undefined` length makes this uWS build return without answering
    // ("Returning from a request handler without responding"), which aborts the process.
    if (r.status === 204 || r.status === 304) res.endWithoutBody();
    else if (head) {
      // The length goes in as a header: endWithoutBody(length) aborts the process on the
      // trufflesuite build (and a HEAD never carries a refused body, so no close is needed).
      res.writeHeader('content-length', String(Buffer.byteLength(r.body)));
      res.endWithoutBody();
    }
    else res.end(r.body, closeConnection);
  };
  // Outside uWS's own callback every write must be corked.
  const writeLater = (res: UwsTypes.HttpResponse, r: HttpResponse, head: boolean) => res.cork(() => writeNow(res, r, false, head));

  /** Answer now if the handler is synchronous; otherwise watch for abort and answer later. */
  const dispatch = (res: UwsTypes.HttpResponse, request: HttpRequest, prepared: Prepared, state: AbortState | null, inCallback: boolean) => {
    let out: HttpResponse | Promise<HttpResponse>;
    try {
      out = opts.http.handle(request, prepared);
    } catch (err) {
      out = opts.http.failed(request, prepared, err);
    }
    if (!(out instanceof Promise)) {
      if (state?.aborted) return;
      if (state) state.done = true;
      const head = request.method === 'HEAD';
      if (inCallback) writeNow(res, out, false, head);
      else writeLater(res, out, head);
      return;
    }
    const watch = state ?? watchAbort(res, request);
    inFlight++;
    out
      .catch((err) => opts.http.failed(request, prepared, err))
      .then((r) => {
        inFlight--;
        if (watch.aborted) return;
        watch.done = true;
        writeLater(res, r, request.method === 'HEAD');
      });
  };

  const watchAbort = (res: UwsTypes.HttpResponse, request: HttpRequest): AbortState => {
    const state: AbortState = { aborted: false, done: false };
    res.onAborted(() => {
      if (state.done || state.aborted) return;
      state.aborted = true;
      if (state.reading) inFlight--;
      opts.http.onAborted?.(request);
    });
    return state;
  };

  app.any('/*', (res, req) => {
    // Everything the handler needs is copied now: `req` is gone after this tick.
    const request = readRequest(req, res, opts.http.ipForReads);
    const prepared = opts.http.prepare(request);
    if (isResponse(prepared)) {
      // The client may still be sending a body we refused: close after the answer.
      writeNow(res, prepared, prepared.status === 413 || prepared.status === 415, request.method === 'HEAD');
      return;
    }
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    if (!hasBody) return dispatch(res, request, prepared, null, true);

    // The body arrives over later ticks: from here on the client may go away.
    const state = watchAbort(res, request);
    state.reading = true;
    inFlight++;
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((ab, isLast) => {
      if (state.aborted || state.done) return;
      size += ab.byteLength;
      if (size > opts.http.bodyLimit) {
        // Counted while streaming: refuse before buffering the rest.
        state.done = true;
        state.reading = false;
        inFlight--;
        writeLater(res, opts.http.tooLarge(request, prepared), false);
        return;
      }
      // uWS reuses the ArrayBuffer after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(ab).slice()));
      if (isLast) {
        state.reading = false;
        inFlight--;
        request.body = size > 0 ? Buffer.concat(chunks, size) : null;
        dispatch(res, request, prepared, state, false);
      }
    });
  });

  app.ws<T>(opts.ws.path, {
    idleTimeout: opts.ws.idleTimeoutS,
    maxBackpressure: opts.ws.maxBackpressure * 2,
    closeOnBackpressureLimit: true as unknown as number, // typed as number, read as a flag
    sendPingsAutomatically: true,
    maxPayloadLength: 64 * 1024,
    upgrade: (res, req, context) => {
      const request = readRequest(req, res, opts.http.ipForReads, true);
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      // Decided synchronously, inside uWS's callback: no abort can happen in between.
      const decision = opts.ws.upgrade(request);
      if ('status' in decision) {
        writeNow(res, decision);
        return;
      }
      // Echo the first offered subprotocol (browsers may carry the token there).
      const chosen = protocol.split(',')[0]?.trim() ?? '';
      res.upgrade(decision.data, key, chosen, extensions, context);
    },
    open: (ws) => {
      sockets.add(ws);
      opts.ws.open(wrap(ws));
    },
    message: (ws, message) => {
      opts.ws.message(wrap(ws), Buffer.from(message).toString('utf8'));
    },
    close: (ws, code) => {
      sockets.delete(ws);
      opts.ws.close(wrapClosed(ws), code);
    },
  });

  // One wrapper per socket, keyed by the socket's user data; `markClosed`
  // stops it touching the uWS socket, which is gone once uWS reports the close.
  const wrappers = new WeakMap<object, { client: WsClient<T>; markClosed: () => void }>();
  function wrapper(ws: UwsTypes.WebSocket<T>): { client: WsClient<T>; markClosed: () => void } {
    const key = ws.getUserData() as object;
    let w = wrappers.get(key);
    if (!w) {
      let open = true;
      const client: WsClient<T> = {
        data: ws.getUserData(),
        send: (text) => open && ws.send(text, false) !== 2,
        bufferedAmount: () => (open ? ws.getBufferedAmount() : 0),
        subscribe: (t) => {
          if (open) ws.subscribe(t);
        },
        unsubscribe: (t) => {
          if (open) ws.unsubscribe(t);
        },
        close: (code, reason) => {
          if (!open) return;
          open = false;
          ws.end(code, reason);
        },
      };
      w = { client, markClosed: () => (open = false) };
      wrappers.set(key, w);
    }
    return w;
  }
  const wrap = (ws: UwsTypes.WebSocket<T>): WsClient<T> => wrapper(ws).client;
  function wrapClosed(ws: UwsTypes.WebSocket<T>): WsClient<T> {
    const w = wrapper(ws);
    w.markClosed();
    return w.client;
  }

  return new Promise((resolve, reject) => {
    app.listen(opts.host, opts.port, (socket) => {
      if (!socket) {
        reject(new Error(`cannot listen on ${opts.host}:${opts.port}`));
        return;
      }
      listenSocket = socket;
      resolve({
        port: uws.us_socket_local_port(socket),
        publish: (topic, text) => {
          app.publish(topic, text, false);
        },
        numSubscribers: (topic) => app.numSubscribers(topic),
        stopListening: () => {
          if (listenSocket) uws.us_listen_socket_close(listenSocket);
          listenSocket = null;
        },
        closeAll: () => {
          for (const ws of [...sockets]) ws.end(1001, 'server shutting down');
        },
        inFlight: () => inFlight,
      });
    });
  });
}
