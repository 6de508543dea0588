// The pure-JS server in @trufflesuite/uws-js-unofficial (used only with
// `[daemon] allow_slow_http = true`) throws "Not implemented" on calls the
// daemon makes on every request. Fill in the ones it needs with their plain
// node:http meaning. It has no WebSocket upgrade, so nobody can subscribe:
// publish delivers to no one and every topic has 0 subscribers. It has no TLS.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';

type UwsModule = typeof UwsTypes;

const require = createRequire(import.meta.url);

interface FallbackRequest {
  request: { url?: string };
  getMethod(): string;
  getUrl(): string;
  getQuery(key?: string): string | undefined;
  getCaseSensitiveMethod(): string;
}
interface FallbackResponse {
  response: { socket?: { remoteAddress?: string } | null };
  end(data?: string, closeConnection?: boolean): unknown;
  endWithoutBody(len?: number, closeConnection?: boolean): unknown;
  getRemoteAddressAsText(): ArrayBuffer;
}
interface FallbackApp {
  publish(topic: string, message: string, isBinary?: boolean): boolean;
  numSubscribers(topic: string): number;
}

/** Loads the fallback from the package folder and completes it once. */
export function loadFallback(packageDir: string): UwsModule {
  const dist = join(packageDir, 'dist');
  const uws = require(join(dist, 'index.js')) as UwsModule & { SSLApp?: unknown };
  const Req = (require(join(dist, 'http-request.js')) as { HttpRequest: { prototype: FallbackRequest } }).HttpRequest;
  const Res = (require(join(dist, 'http-response.js')) as { HttpResponse: { prototype: FallbackResponse } }).HttpResponse;
  const App = (require(join(dist, 'templated-app.js')) as { default: { prototype: FallbackApp } }).default;

  Req.prototype.getCaseSensitiveMethod = function () {
    return this.getMethod();
  };
  // uWS's getUrl is the path alone; the fallback's keeps the query.
  Req.prototype.getUrl = function () {
    const url = this.request.url ?? '/';
    const i = url.indexOf('?');
    return i < 0 ? url : url.slice(0, i);
  };
  // Its getQuery parses a path-only URL with `new URL()` and throws; uWS returns the part after '?'.
  Req.prototype.getQuery = function (key) {
    const url = this.request.url ?? '';
    const i = url.indexOf('?');
    const query = i < 0 ? '' : url.slice(i + 1);
    return key === undefined ? query : (new URLSearchParams(query).get(key) ?? undefined);
  };
  Res.prototype.endWithoutBody = function (_len, closeConnection) {
    return this.end('', closeConnection);
  };
  Res.prototype.getRemoteAddressAsText = function () {
    const b = Buffer.from(this.response.socket?.remoteAddress ?? '');
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  App.prototype.publish = () => false;
  App.prototype.numSubscribers = () => 0;
  if (!uws.SSLApp) {
    (uws as { SSLApp: unknown }).SSLApp = () => {
      throw new Error('the pure-JS uWS fallback cannot serve TLS: [daemon.tls] needs a native uWebSockets.js build');
    };
  }
  return uws;
}
