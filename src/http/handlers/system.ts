// /health: public, cheap, and honest about whether uWS runs natively.
import { Type, type Static } from 'typebox';
import { ok, type Route, defineRoute } from '../route.js';
import { UwsBuild } from '../../../common/schemas/http-build.js';
import type { ClusterNodeStatus } from '../../cluster/node.js';

/** A cluster node's part of /health (absent on a single daemon). */
export const ClusterHealth = Type.Object(
  {
    node_id: Type.String(),
    /** Random per process: a restarted node is a new instance. */
    instance: Type.String(),
    /** Whether the NATS connection is up now (down: reads are served, commands refused). */
    connected: Type.Boolean(),
    /** The partitions this node owns, sorted. */
    partitions: Type.Array(Type.Integer()),
    /** How many it should own once balanced. */
    target: Type.Integer(),
    members: Type.Array(Type.Object({ node_id: Type.String(), api_url: Type.Union([Type.String(), Type.Null()]), started_at: Type.String() })),
  },
  { title: 'ClusterHealth' },
);

export const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
    version: Type.String(),
    uptime_s: Type.Number(),
    workers: Type.Integer(),
    hosts: Type.Integer(),
    uws: UwsBuild,
    startup: Type.Object(
      {
        ready_ms: Type.Number({ description: 'From process start to listening, in ms' }),
        stages_ms: Type.Record(Type.String(), Type.Number(), { description: 'Each start-up stage (boot, config_parse, config_validate, store_load, shard_attach, …), in ms' }),
      },
      { description: 'Where start-up time went' },
    ),
    cluster: Type.Optional(ClusterHealth),
  },
  { title: 'Health' },
);

const Probe = Type.Object(
  { status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.Boolean())) },
  { title: 'Probe' },
);

export interface SystemRouteDeps {
  version: string;
  startedAt: number;
  uws: UwsBuild;
  startup: { readonly totalMs: number; readonly stages: Readonly<Record<string, number>> };
  workers: number;
  hostCount(): number;
  /** Readiness: every worker up, the state store open. */
  /** `cluster` on a cluster node: joined and connected to NATS. */
  ready(): { workers: boolean; store: boolean; cluster?: boolean };
  metrics: { metrics(): Promise<string>; contentType: string };
  /** A cluster node's ownership and link; null on a single daemon (and before the node has joined). */
  cluster?: () => ClusterNodeStatus | null;
}

function health(sys: SystemRouteDeps): Static<typeof Health> {
  const c = sys.cluster?.() ?? null;
  return {
    // Serving on the pure-JS uWS fallback works but is far slower: say so. So is a node cut off from its cluster.
    status: sys.uws.build === 'native' && (c === null || c.connected) ? 'healthy' : 'degraded',
    version: sys.version,
    uptime_s: Math.round((Date.now() - sys.startedAt) / 100) / 10,
    workers: sys.workers,
    hosts: sys.hostCount(),
    uws: sys.uws,
    startup: { ready_ms: sys.startup.totalMs, stages_ms: sys.startup.stages },
    ...(c && {
      cluster: {
        node_id: c.node_id,
        instance: c.instance,
        connected: c.connected,
        partitions: c.partitions,
        target: c.target,
        members: c.members.map((m) => ({ node_id: m.node_id, api_url: m.api_url, started_at: m.started_at })),
      },
    }),
  };
}

export function systemRoutes(sys: SystemRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/health',
      summary: 'Liveness and basic facts (public)',
      tag: 'system',
      auth: false,
      responses: { 200: { description: 'Daemon health', schema: Health } },
      handler: () => ok(health(sys)),
    }),
    defineRoute({
      method: 'GET',
      path: '/livez',
      summary: 'Liveness probe: the event loop answers (public)',
      tag: 'system',
      auth: false,
      responses: { 200: { description: 'Alive', schema: Probe } },
      handler() {
        return ok({ status: 'ok' });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/readyz',
      summary: 'Readiness probe: config loaded, every worker up, state store open, on a cluster node joined and connected (public)',
      tag: 'system',
      auth: false,
      responses: { 200: { description: 'Ready', schema: Probe }, 503: { description: 'Not ready', schema: Probe } },
      handler() {
        const checks = { config: true, ...sys.ready() };
        const ready = Object.values(checks).every(Boolean);
        return { status: ready ? 200 : 503, body: { status: ready ? 'ok' : 'not_ready', checks } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tag: 'system',
      responses: { 200: { description: 'Metrics', contentType: 'text/plain; version=0.0.4' } },
      async handler() {
        return { status: 200, body: await sys.metrics.metrics(), contentType: sys.metrics.contentType };
      },
    }),
  ];
}
