// The only file that touches uWebSockets.js request and response objects. It
// loads the build uws-native.ts finds (native, or the pure-JS fallback), turns uWS
// requests into plain `HttpRequest` values before any await, streams bodies
// with a byte limit, corks every write, and wraps WebSockets in `WsClient`.
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';
import { loadUws, type LoadedUws } from './uws-native.js';
import type { AbortState, HttpRequest, HttpResponse, Prepared, RequestHandlers, RunningServer, ServerOptions, WsClient, WsHandlers } from './uws-types.js';
import { statusLine } from './status-line.js';
import type { RequestHeaderLists } from './request-headers.js';
import { CONTENT_TYPE, X_REQUEST_ID, contentTypeBytes } from './header-bytes.js';

export type { LoadedUws };
export { loadUws };
export type * from './uws-types.js';

function isResponse(x: HttpResponse | Prepared): x is HttpResponse {
  return (x as HttpResponse).status !== undefined;
}

const textDecoder = new TextDecoder();

function copyHeaders(req: UwsTypes.HttpRequest, names: readonly string[], into: Record<string, string>): void {
  for (const h of names) {
    const v = req.getHeader(h);
    if (v !== '') into[h] = v;
  }
}

/** The request as plain values; `method` is known from the uWS route (GET) or read from uWS. */
function readRequest(req: UwsTypes.HttpRequest, res: UwsTypes.HttpResponse, method: string, lists: RequestHeaderLists, ipForReads: boolean, upgrade = false): HttpRequest {
  const read = method === 'GET' || method === 'HEAD';
  const headers: Record<string, string> = {};
  copyHeaders(req, upgrade ? lists.upgrade : read ? lists.read : lists.body, headers);
  // Decoding the address costs on every read, and only writes (audit) and
  // per-address rate limiting use it. (A lazy getter closing over `res` was
  // tried: it makes V8 promote every uWS response object, doubling GC time.)
  return {
    method,
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    ip: !read || ipForReads ? textDecoder.decode(res.getRemoteAddressAsText()) : '',
    body: null,
  };
}

// closeConnection: uWS closes the socket after this answer (the response
// object is gone once it is ended, so `res.close()` afterwards would throw).
// HEAD: the same status and headers as GET with its Content-Length, and no
// body — uWS would send it, and a keep-alive client would read it as the next answer.
function writeResponse(res: UwsTypes.HttpResponse, r: HttpResponse, closeConnection = false, head = false): void {
  // 200 is uWS's default status line: skip writing it on the hot path.
  if (r.status !== 200) res.writeStatus(statusLine(r.status));
  res.writeHeader(CONTENT_TYPE, contentTypeBytes(r.headers?.['content-type']));
  if (r.requestId) res.writeHeader(X_REQUEST_ID, r.requestId);
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
}

// Outside uWS's own callback every write must be corked.
function writeLater(res: UwsTypes.HttpResponse, r: HttpResponse, head: boolean): void {
  res.cork(() => writeResponse(res, r, false, head));
}

/**
 * Every HTTP request: copied out of uWS at once, its body streamed with a
 * byte limit, answered now when the handler is synchronous, else corked
 * later unless the client went away. Counts what is in flight, so a
 * graceful stop can wait for it.
 */
class HttpRoute {
  inFlight = 0;

  constructor(private readonly http: RequestHandlers) {}

  onRequest(res: UwsTypes.HttpResponse, req: UwsTypes.HttpRequest, method: string): void {
    // Everything the handler needs is copied now: `req` is gone after this tick.
    const request = readRequest(req, res, method, this.http.requestHeaders, this.http.ipForReads);
    const prepared = this.http.prepare(request);
    if (isResponse(prepared)) {
      // The client may still be sending a body we refused: close after the answer.
      writeResponse(res, prepared, prepared.status === 413 || prepared.status === 415, request.method === 'HEAD');
      return;
    }
    if (prepared.headers) copyHeaders(req, prepared.headers, request.headers);
    if (request.method === 'GET' || request.method === 'HEAD') this.#dispatch(res, request, prepared, null, true);
    else this.#readBody(res, request, prepared);
  }

  /** The body arrives over later ticks: from here on the client may go away. */
  #readBody(res: UwsTypes.HttpResponse, request: HttpRequest, prepared: Prepared): void {
    const state = this.#watchAbort(res, request);
    state.reading = true;
    this.inFlight++;
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((ab, isLast) => {
      if (state.aborted || state.done) return;
      size += ab.byteLength;
      if (size > this.http.bodyLimit) {
        // Counted while streaming: refuse before buffering the rest.
        state.done = true;
        state.reading = false;
        this.inFlight--;
        writeLater(res, this.http.tooLarge(request, prepared), false);
        return;
      }
      // uWS reuses the ArrayBuffer after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(ab).slice()));
      if (isLast) {
        state.reading = false;
        this.inFlight--;
        request.body = size > 0 ? Buffer.concat(chunks, size) : null;
        this.#dispatch(res, request, prepared, state, false);
      }
    });
  }

  /** Answer now if the handler is synchronous; otherwise watch for abort and answer later. */
  #dispatch(res: UwsTypes.HttpResponse, request: HttpRequest, prepared: Prepared, state: AbortState | null, inCallback: boolean): void {
    let out: HttpResponse | Promise<HttpResponse>;
    try {
      out = this.http.handle(request, prepared);
    } catch (err) {
      out = this.http.failed(request, prepared, err);
    }
    const head = request.method === 'HEAD';
    if (!(out instanceof Promise)) {
      if (state?.aborted) return;
      if (state) state.done = true;
      if (inCallback) writeResponse(res, out, false, head);
      else writeLater(res, out, head);
      return;
    }
    const watch = state ?? this.#watchAbort(res, request);
    this.inFlight++;
    out
      .catch((err) => this.http.failed(request, prepared, err))
      .then((r) => {
        this.inFlight--;
        if (watch.aborted) return;
        watch.done = true;
        writeLater(res, r, head);
      });
  }

  #watchAbort(res: UwsTypes.HttpResponse, request: HttpRequest): AbortState {
    const state: AbortState = { aborted: false, done: false };
    res.onAborted(() => {
      if (state.done || state.aborted) return;
      state.aborted = true;
      if (state.reading) this.inFlight--;
      this.http.onAborted?.(request);
    });
    return state;
  }
}

export function startServer<T>(opts: ServerOptions<T>): Promise<RunningServer> {
  const { uws } = loadUws();
  const app = opts.tls
    ? uws.SSLApp({ cert_file_name: opts.tls.cert_path, key_file_name: opts.tls.key_path })
    : uws.App();
  const route = new HttpRoute(opts.http);
  // GET has its own uWS route: its method needs no call into uWS. (The pure-JS fallback has only getMethod.)
  app.get('/*', (res, req) => route.onRequest(res, req, 'GET'));
  app.any('/*', (res, req) => route.onRequest(res, req, (req.getCaseSensitiveMethod ? req.getCaseSensitiveMethod() : req.getMethod()).toUpperCase()));
  const sockets = new Set<UwsTypes.WebSocket<T>>();
  new WsRoute(opts.ws, opts.http, sockets).mount(app);

  let listenSocket: UwsTypes.us_listen_socket | null = null;
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
        inFlight: () => route.inFlight,
      });
    });
  });
}

/** A socket's WsClient, and the switch that makes it inert once uWS reports the socket closed. */
interface SocketWrapper<T> {
  client: WsClient<T>;
  markClosed(): void;
}

/** A WsClient over a uWS socket; `open` goes false when the socket is gone, and every call is a no-op from then on. */
function socketWrapper<T>(ws: UwsTypes.WebSocket<T>): SocketWrapper<T> {
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
  return { client, markClosed: () => (open = false) };
}

/** The event stream's route: upgrade decided synchronously by its handlers; one WsClient per socket, inert once uWS reports it closed. */
class WsRoute<T> {
  /** Keyed by the socket's user data: uWS hands the same socket over as different objects. */
  readonly #wrappers = new WeakMap<object, SocketWrapper<T>>();

  constructor(
    private readonly handlers: WsHandlers<T>,
    private readonly http: Pick<RequestHandlers, 'requestHeaders' | 'ipForReads'>,
    private readonly sockets: Set<UwsTypes.WebSocket<T>>,
  ) {}

  mount(app: UwsTypes.TemplatedApp): void {
    app.ws<T>(this.handlers.path, {
      idleTimeout: this.handlers.idleTimeoutS,
      maxBackpressure: this.handlers.maxBackpressure * 2,
      closeOnBackpressureLimit: true as unknown as number, // typed as number, read as a flag
      sendPingsAutomatically: true,
      maxPayloadLength: 64 * 1024,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => {
        this.sockets.add(ws);
        this.handlers.open(this.#wrapper(ws).client);
      },
      message: (ws, message) => {
        this.handlers.message(this.#wrapper(ws).client, Buffer.from(message).toString('utf8'));
      },
      close: (ws, code) => {
        this.sockets.delete(ws);
        const w = this.#wrapper(ws);
        w.markClosed();
        this.handlers.close(w.client, code);
      },
    });
  }

  #upgrade(res: UwsTypes.HttpResponse, req: UwsTypes.HttpRequest, context: UwsTypes.us_socket_context_t): void {
    const request = readRequest(req, res, 'GET', this.http.requestHeaders, this.http.ipForReads, true);
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    // Decided synchronously, inside uWS's callback: no abort can happen in between.
    const decision = this.handlers.upgrade(request);
    if ('status' in decision) {
      writeResponse(res, decision);
      return;
    }
    // Echo the first offered subprotocol (browsers may carry the token there).
    const chosen = protocol.split(',')[0]?.trim() ?? '';
    res.upgrade(decision.data, key, chosen, extensions, context);
  }

  #wrapper(ws: UwsTypes.WebSocket<T>): SocketWrapper<T> {
    const key = ws.getUserData() as object;
    let w = this.#wrappers.get(key);
    if (!w) {
      w = socketWrapper(ws);
      this.#wrappers.set(key, w);
    }
    return w;
  }
}
