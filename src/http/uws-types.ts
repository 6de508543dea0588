// The plain values the server and the request pipeline exchange: a request
// copied out of uWS before any await, the answer to write, the WebSocket
// client as handlers see it. No uWS object crosses this line.
import type { RequestHeaderLists } from './request-headers.js';

export interface HttpRequest {
  method: string;
  path: string;
  query: string;
  /** Only the headers in `requestHeaders` for this kind of request (and the route's own, once known), lower-case names. */
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
export interface Prepared {
  readonly prepared: true;
  /** Request headers the route reads besides `requestHeaders`: copied before `handle`. */
  readonly headers?: readonly string[];
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
  /** The headers copied from every request, by kind, before `prepare`. */
  requestHeaders: RequestHeaderLists;
  /** Decode the client address on reads too (rate limiting per address needs it). */
  ipForReads: boolean;
  onAborted?(req: HttpRequest): void;
}

export interface WsClient<T> {
  readonly data: T;
  /** false when the message was not queued (socket closed). Bytes are sent as a text frame too: a message encoded once for many clients. */
  send(text: string | Uint8Array): boolean;
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
  publish(topic: string, text: string | Uint8Array): void;
  numSubscribers(topic: string): number;
  /** Stop listening; open connections finish what they are doing. */
  stopListening(): void;
  /** Close every connection now. */
  closeAll(): void;
  inFlight(): number;
}

export interface AbortState {
  aborted: boolean;
  /** Still receiving the body (counted in inFlight until it is in). */
  reading?: boolean;
  /** The answer was written (or refused): a later abort is not an abort. */
  done: boolean;
}
