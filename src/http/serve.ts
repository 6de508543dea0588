// The API on the network: the request pipeline over the route table, the
// event stream, and the uWS server that carries both.
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import type { RequestOrderedAudit } from '../audit/request-order.js';
import type { EventSource } from '../events/broadcaster.js';
import type { Metrics } from '../metrics.js';
import type { ReadModel } from '../state/read-model.js';
import { createHttpHandlers } from './app.js';
import type { Route } from './route.js';
import { startServer, type RunningServer } from './uws.js';
import { EventStream } from './ws.js';

export interface ServeParts {
  routes: Route[];
  model: ReadModel;
  /** The broadcaster, or on a cluster node the feed of the cluster stream. */
  broadcaster: EventSource;
  audit: RequestOrderedAudit | null;
  metrics: Pick<Metrics, 'httpRequest' | 'wsDropped'>;
}

/** Listens, then feeds the broadcaster's events to the stream. Throws when it cannot bind. */
export async function serveApi(daemon: Config['daemon'], log: Logger, { routes, model, broadcaster, audit, metrics }: ServeParts): Promise<{ server: RunningServer; stream: EventStream }> {
  const http = createHttpHandlers({
    routes,
    log,
    bodyLimit: daemon.http.body_limit_bytes,
    auth: daemon.auth,
    rateLimit: daemon.rate_limit,
    audit: audit && { record: (r) => audit.recordRequest(r) },
    onResponse: (route, method, status) => metrics.httpRequest(route, method, status),
  });
  const stream = new EventStream({
    model,
    broadcaster,
    log,
    auth: http.auth,
    maxBackpressure: daemon.ws.max_backpressure_bytes,
    idleTimeoutS: daemon.ws.idle_timeout_s,
    onDropped: () => metrics.wsDropped(),
  });
  const { tls } = daemon;
  const server = await startServer({
    host: daemon.host,
    port: daemon.port,
    tls: tls.enabled && tls.cert_path && tls.key_path ? { cert_path: tls.cert_path, key_path: tls.key_path } : null,
    http,
    ws: stream.handlers(),
  });
  stream.attach(server.publish);
  broadcaster.setFanout(stream);
  return { server, stream };
}
