// The client in Node: `ws` for the stream (a bearer header instead of the
// browser's subprotocol, and the HTTP status of a refused upgrade), and, for
// a daemon whose certificate a private CA signed, fetch through an undici
// Agent that trusts that CA. Browser code never imports this file.
import WebSocket from 'ws';
import { Agent, fetch as undiciFetch } from 'undici';
import { TendhostClient, type ClientOptions } from './http-client.js';
import { FleetStream, type FleetStreamOptions, type OpenSocket, type SocketLike } from './fleet-stream.js';

export interface NodeClientOptions extends Omit<ClientOptions, 'fetch'> {
  /** PEM of the CA that signed the daemon's certificate (added to the system's). */
  ca?: string | Buffer;
}

/** A `ws` socket that records the status of a refused upgrade (401, 400) before it closes. */
export function nodeSocket(ca?: string | Buffer): OpenSocket {
  return (url, token) => {
    const ws = new WebSocket(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(ca ? { ca } : {}),
      // The snapshot of a big fleet is one large message.
      maxPayload: 512 * 1024 * 1024,
    });
    const socket = ws as unknown as SocketLike;
    ws.on('unexpected-response', (_req, res) => {
      socket.httpStatus = res.statusCode;
      res.resume();
      ws.terminate();
    });
    return socket;
  };
}

export class NodeTendhostClient extends TendhostClient {
  readonly #ca: string | Buffer | undefined;

  constructor(opts: NodeClientOptions) {
    super({ ...opts, fetch: opts.ca ? caFetch(opts.ca) : undefined });
    this.#ca = opts.ca;
  }

  /** The live stream on the same daemon, token and CA. */
  override stream(opts: Omit<FleetStreamOptions, 'url' | 'token' | 'openSocket'> = {}): FleetStream {
    return new FleetStream({ ...opts, url: this.url, token: this.token, openSocket: nodeSocket(this.#ca) });
  }
}

export function nodeClient(opts: NodeClientOptions): NodeTendhostClient {
  return new NodeTendhostClient(opts);
}

function caFetch(ca: string | Buffer): typeof fetch {
  const dispatcher = new Agent({ connect: { ca } });
  return ((input: string, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
