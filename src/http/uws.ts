// The only file that touches uWebSockets.js. It loads the native build (and
// says loudly when the package fell back to its pure-JS shim), turns uWS
// requests into plain `HttpRequest` values before any await, streams bodies
// with a byte limit, corks every write, and wraps WebSockets in `WsClient`.
import { createRequire } from 'node:module';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);

export type UwsMode = 'native' | 'fallback';

export interface LoadedUws {
  uws: typeof UwsTypes;
  mode: UwsMode;
}

let loaded: LoadedUws | null = null;

/** The package silently swaps in a `ws`-based shim when its binary fails to load; tell them apart. */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof UwsTypes;
  const mode: UwsMode = String(uws.App).includes('[native code]') ? 'native' : 'fallback';
  loaded = { uws, mode };
  return loaded;
}

export interface HttpRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  ip: string;
  body: Buffer | null;
}

export interface HttpResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface RequestHandlers {
  /** Called once the whole request (with body, if any) is in. */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /** Decide before reading a body whether to refuse it (returns the refusal). */
  preBody(req: HttpRequest): HttpResponse | null;
  bodyLimit: number;
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

function readRequest(req: UwsTypes.HttpRequest, res: UwsTypes.HttpResponse): HttpRequest {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = v;
  });
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    ip: textDecoder.decode(res.getRemoteAddressAsText()),
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
  const write = (res: UwsTypes.HttpResponse, r: HttpResponse, closeConnection = false) => {
    res.cork(() => {
      res.writeStatus(statusLine(r.status));
      res.writeHeader('content-type', r.headers?.['content-type'] ?? 'application/json');
      if (r.headers) for (const k in r.headers) if (k !== 'content-type') res.writeHeader(k, r.headers[k]);
      if (r.status === 204) res.endWithoutBody(undefined, closeConnection);
      else res.end(r.body, closeConnection);
    });
  };

  const dispatch = (res: UwsTypes.HttpResponse, request: HttpRequest, state: { aborted: boolean }) => {
    let out: HttpResponse | Promise<HttpResponse>;
    try {
      out = opts.http.handle(request);
    } catch (err) {
      out = internalError(err);
    }
    if (out instanceof Promise) {
      out.then(
        (r) => {
          inFlight--;
          if (!state.aborted) write(res, r);
        },
        (err) => {
          inFlight--;
          if (!state.aborted) write(res, internalError(err));
        },
      );
    } else {
      inFlight--;
      if (!state.aborted) write(res, out);
    }
  };

  app.any('/*', (res, req) => {
    // Everything the handler needs is copied now: `req` is gone after this tick.
    const request = readRequest(req, res);
    const state = { aborted: false };
    inFlight++;
    res.onAborted(() => {
      if (!state.aborted) {
        state.aborted = true;
        inFlight--;
        opts.http.onAborted?.(request);
      }
    });
    const refusal = opts.http.preBody(request);
    if (refusal) {
      inFlight--;
      state.aborted = true; // nothing more to write after this
      // The client may still be sending a body we refused: close after the answer.
      write(res, refusal, refusal.status === 413 || refusal.status === 415);
      return;
    }
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    if (!hasBody) return dispatch(res, request, state);

    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((ab, isLast) => {
      if (state.aborted) return;
      size += ab.byteLength;
      if (size > opts.http.bodyLimit) {
        // Counted while streaming: refuse before buffering the rest.
        state.aborted = true;
        inFlight--;
        write(res, {
          status: 413,
          body: JSON.stringify({ code: 'PAYLOAD_TOO_LARGE', message: `request body exceeds ${opts.http.bodyLimit} bytes` }),
          headers: { connection: 'close' },
        }, true);
        return;
      }
      // uWS reuses the ArrayBuffer after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(ab).slice()));
      if (isLast) {
        request.body = size > 0 ? Buffer.concat(chunks, size) : null;
        dispatch(res, request, state);
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
      const request = readRequest(req, res);
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const decision = opts.ws.upgrade(request);
      if (aborted) return;
      if ('status' in decision) {
        write(res, decision);
        return;
      }
      // Echo the first offered subprotocol (browsers may carry the token there).
      const chosen = protocol.split(',')[0]?.trim() ?? '';
      res.cork(() => res.upgrade(decision.data, key, chosen, extensions, context));
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

  // One wrapper per socket, kept on the socket's user data.
  const wrappers = new WeakMap<object, WsClient<T>>();
  function wrap(ws: UwsTypes.WebSocket<T>): WsClient<T> {
    const key = ws.getUserData() as object;
    let w = wrappers.get(key);
    if (!w) {
      let open = true;
      w = {
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
      (w as unknown as { markClosed: () => void }).markClosed = () => {
        open = false;
      };
      wrappers.set(key, w);
    }
    return w;
  }
  function wrapClosed(ws: UwsTypes.WebSocket<T>): WsClient<T> {
    const w = wrap(ws);
    (w as unknown as { markClosed: () => void }).markClosed();
    return w;
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

function internalError(err: unknown): HttpResponse {
  return {
    status: 500,
    body: JSON.stringify({ code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }),
  };
}
