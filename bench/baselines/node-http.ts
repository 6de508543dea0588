// node:http baseline: the same two routes and the same data as bare-uws.ts,
// on Node's own HTTP server (what a plain Node daemon would cost).
// Usage: node dist/bench/baselines/node-http.js [port-file]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceListening, fleetStoreFromEnv } from './fleet-store.js';

const store = fleetStoreFromEnv();
const JSON_HEADERS = { 'content-type': 'application/json' };

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (req.method === 'GET' && path.startsWith('/hosts/')) {
    const body = store.host(decodeURIComponent(path.slice('/hosts/'.length)));
    if (body !== undefined) {
      res.writeHead(200, JSON_HEADERS).end(body);
      return;
    }
    res.writeHead(404, JSON_HEADERS).end('{"code":"HOST_NOT_FOUND"}');
    return;
  }
  if (req.method === 'GET' && path === '/hosts') {
    res.writeHead(200, JSON_HEADERS).end(store.page(q === -1 ? '' : url.slice(q + 1)));
    return;
  }
  res.writeHead(404).end();
});

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  announceListening((server.address() as AddressInfo).port, process.argv[2]);
});

process.on('SIGTERM', () => process.exit(0));
