// The transport under the event stream, apart from the stream's logic: the
// part of a WebSocket the client uses (the browser's and `ws` both fit), how
// one is opened, and the states a stream's connection goes through.
/** The part of a WebSocket this client uses (the browser's and `ws` both fit). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** Set by transports that can see it: the HTTP status that refused the upgrade. */
  httpStatus?: number;
}

export type OpenSocket = (url: string, token: string | undefined) => SocketLike;

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'resyncing' | 'closed';

/** The browser's WebSocket; a token travels as the `bearer.<token>` subprotocol (browsers cannot set headers). */
export const browserSocket: OpenSocket = (url, token) => {
  const Ctor = (globalThis as { WebSocket?: new (url: string, protocols?: string[]) => SocketLike }).WebSocket;
  if (!Ctor) throw new Error('no global WebSocket here: pass openSocket (in Node, use nodeClient from tendhost/client/node)');
  return new Ctor(url, token ? [`bearer.${token}`] : undefined);
};

/** A socket we are done with: its late callbacks reach no one. */
export function detach(s: SocketLike): void {
  s.onopen = s.onmessage = s.onclose = null;
  s.onerror = () => {};
}
