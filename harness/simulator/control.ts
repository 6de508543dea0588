// The control endpoint (127.0.0.1 only): tests read what the hosts received
// and flip faults while the fleet runs.
//   GET  /hosts                 every host's view (?names=a,b to filter)
//   GET  /hosts/<name>          one host
//   GET  /summary               fleet totals
//   POST /fault                 {"host": "sim-00001" | "hosts": [...], "fault": "refused", "on": true}
//   POST /pending               {"host": "sim-00001", "count": 3}   new pending upgrades (state reset)
//   POST /reset-counters        {}  zero every host's counters
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isFault, type FaultName } from './faults.js';
import { hostView, type PersonaName, type SimHost } from './host.js';

/** What the control endpoint drives. */
export interface SimulatorControl {
  readonly hosts: readonly SimHost[];
  host(name: string): SimHost | undefined;
  setFault(names: readonly string[], fault: FaultName, on: boolean): Promise<void>;
  setPending(name: string, count: number): void;
  resetCounters(): void;
  summary(): FleetSummary;
}

export interface FleetSummary {
  hosts: number;
  up: number;
  rebooting: number;
  dead: number;
  personas: Record<PersonaName, number>;
  faults: Record<string, number>;
  /** Pending packages, every host. */
  pending: number;
  /** Outdated compose services, every host: with `pending`, what the daemon reports as pending updates. */
  pending_images: number;
  connections: number;
  auth_ok: number;
  auth_rejected: number;
  execs: number;
  reboots: number;
}

const BODY_LIMIT = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const v = text ? JSON.parse(text) : {};
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function hostNames(body: Record<string, unknown>): string[] {
  if (typeof body.host === 'string') return [body.host];
  if (Array.isArray(body.hosts) && body.hosts.every((h) => typeof h === 'string')) return body.hosts as string[];
  throw new HttpError(400, 'give "host" (string) or "hosts" (array of strings)');
}

async function route(sim: SimulatorControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/hosts') {
    const filter = url.searchParams.get('names');
    const names = filter ? new Set(filter.split(',')) : null;
    return send(res, 200, { hosts: sim.hosts.filter((h) => !names || names.has(h.name)).map(hostView) });
  }
  if (req.method === 'GET' && path.startsWith('/hosts/')) {
    const h = sim.host(decodeURIComponent(path.slice('/hosts/'.length)));
    if (!h) throw new HttpError(404, 'no such host');
    return send(res, 200, hostView(h));
  }
  if (req.method === 'GET' && path === '/summary') return send(res, 200, sim.summary());
  if (req.method === 'POST' && path === '/fault') {
    const body = await readJson(req);
    const fault = String(body.fault ?? '');
    if (!isFault(fault)) throw new HttpError(400, `unknown fault "${fault}"`);
    if (typeof body.on !== 'boolean') throw new HttpError(400, '"on" must be a boolean');
    const names = hostNames(body);
    for (const n of names) if (!sim.host(n)) throw new HttpError(404, `no such host "${n}"`);
    await sim.setFault(names, fault, body.on);
    return send(res, 200, { ok: true, hosts: names.map((n) => hostView(sim.host(n)!)) });
  }
  if (req.method === 'POST' && path === '/pending') {
    const body = await readJson(req);
    const names = hostNames(body);
    const count = body.count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw new HttpError(400, '"count" must be an integer >= 0');
    for (const n of names) if (!sim.host(n)) throw new HttpError(404, `no such host "${n}"`);
    for (const n of names) sim.setPending(n, count);
    return send(res, 200, { ok: true, hosts: names.map((n) => hostView(sim.host(n)!)) });
  }
  if (req.method === 'POST' && path === '/reset-counters') {
    sim.resetCounters();
    return send(res, 200, { ok: true });
  }
  throw new HttpError(404, `no route ${req.method} ${path}`);
}

export function startControl(sim: SimulatorControl, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    route(sim, req, res).catch((err: Error) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) send(res, status, { error: err.message });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = a && typeof a === 'object' ? a.port : port;
      resolve({ server, url: `http://127.0.0.1:${p}` });
    });
  });
}
