// Ceiling baseline: the least a uWS.js server can do to answer the two routes
// — a Map lookup and JSON.stringify per request, no validation, no logging.
// Usage: node dist/bench/baselines/bare-uws.js [port-file]
import { assertNativeUws, uWS } from '../lib/uws-native.js';
import { announceListening, fleetStoreFromEnv } from './fleet-store.js';

assertNativeUws();
const store = fleetStoreFromEnv();

uWS
  .App()
  .get('/hosts/:name', (res, req) => {
    const body = store.host(req.getParameter(0));
    if (body === undefined) {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"code":"HOST_NOT_FOUND"}');
      return;
    }
    res.writeHeader('content-type', 'application/json').end(body);
  })
  .get('/hosts', (res, req) => {
    res.writeHeader('content-type', 'application/json').end(store.page(req.getQuery() ?? ''));
  })
  .any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  })
  .listen('127.0.0.1', 0, (listenSocket) => {
    if (!listenSocket) {
      console.error('bare-uws: listen failed');
      process.exit(1);
    }
    announceListening(uWS.us_socket_local_port(listenSocket), process.argv[2]);
  });

process.on('SIGTERM', () => process.exit(0));
