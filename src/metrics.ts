// Prometheus metrics (prom-client). Gauges are computed at scrape time from
// the read model, jobs and the shards' last reports, so nothing is counted
// twice and the hot paths only bump counters.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BroadcastObserver, ShardMetrics } from './events/broadcaster.js';
import { HOST_STATES } from '../common/schemas/host.js';
import { JOB_STATES } from '../common/schemas/job.js';
import type { ClusterNodeStatus } from './cluster/node.js';
import { BUSY_RESOLUTION_MS, DELAY_WINDOW_MS, EventLoopDelayWindows, IDLE_RESOLUTION_MS, type DelayWindow } from './event-loop-delay.js';

/** What the gauges read at scrape time. */
export interface MetricSources {
  hostsByState(): Record<string, number>;
  jobsByState(): Record<string, number>;
  shards(): ReadonlyMap<number, ShardMetrics>;
  lastSeq(): number;
  storeRowsWritten(): number;
  wsClients(): number;
  /** On a cluster node: its ownership and link (absent on a single daemon: no cluster gauges). */
  cluster?(): ClusterNodeStatus | null;
}

export class Metrics implements BroadcastObserver {
  readonly registry = new Registry();
  readonly #http: Counter<'route' | 'method' | 'status'>;
  readonly #ops: Histogram<'op' | 'outcome'>;
  readonly #lag: Gauge<'shard'>;
  readonly #wsDropped: Counter;
  readonly #workersReplaced: Counter<'cause'>;
  /** route → method → its counts; keyed apart so the hot path builds no string (a concatenated key is hashed anew each time). */
  readonly #httpCounts = new Map<string, Map<string, { route: string; method: string; counts: Map<number, number> }>>();

  constructor(read: MetricSources) {
    const r = this.registry;
    new Gauge({
      name: 'tendhost_hosts',
      help: 'Hosts by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const counts = read.hostsByState();
        for (const s of HOST_STATES) this.set({ state: s }, counts[s] ?? 0);
      },
    });
    new Gauge({
      name: 'tendhost_jobs',
      help: 'Jobs held in memory by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const counts = read.jobsByState();
        for (const s of JOB_STATES) this.set({ state: s }, counts[s] ?? 0);
      },
    });
    const perShard = (name: string, help: string, pick: (m: ShardMetrics) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers: [r],
        collect() {
          for (const [shard, m] of read.shards()) this.set({ worker: String(shard) }, pick(m));
        },
      });
    perShard('tendhost_ssh_sessions_open', 'Open SSH sessions per worker', (m) => m.sessions_open);
    perShard('tendhost_ssh_handshakes_in_flight', 'SSH handshakes in flight per worker', (m) => m.handshakes_in_flight);
    perShard('tendhost_worker_event_loop_utilization', 'Event-loop utilisation per worker (last 2 s)', (m) => m.elu);
    // Heap per thread: a leak shows as growth that survives GC (the soak benchmark reads these).
    perShard('tendhost_worker_heap_used_bytes', 'V8 heap in use per worker thread (as last reported, every 2 s)', (m) => m.heap_used);
    // Where a process's RSS goes: V8 keeps freed pages (heap total > used), and Buffers live outside the heap.
    perShard('tendhost_worker_heap_total_bytes', 'V8 heap reserved per worker thread, used or not (as last reported)', (m) => m.heap_total);
    perShard('tendhost_worker_external_bytes', 'Memory outside the V8 heap held by a worker thread\'s objects (Buffers; as last reported)', (m) => m.external);
    const front = (name: string, help: string, pick: (m: NodeJS.MemoryUsage) => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(pick(process.memoryUsage()));
        },
      });
    front('tendhost_heap_used_bytes', 'V8 heap in use by the front thread', (m) => m.heapUsed);
    front('tendhost_heap_total_bytes', 'V8 heap reserved by the front thread, used or not', (m) => m.heapTotal);
    front('tendhost_external_bytes', "Memory outside the V8 heap held by the front thread's objects (Buffers)", (m) => m.external);
    new Gauge({
      name: 'tendhost_resident_memory_bytes',
      help: 'Resident set size of the whole daemon process (every thread)',
      registers: [r],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'tendhost_websocket_clients',
      help: 'Connected WebSocket clients',
      registers: [r],
      collect() {
        this.set(read.wsClients());
      },
    });
    new Gauge({
      name: 'tendhost_event_seq',
      help: 'Last event sequence number',
      registers: [r],
      collect() {
        this.set(read.lastSeq());
      },
    });
    new Gauge({
      name: 'tendhost_state_store_rows_written',
      help: 'Rows the state store has written since start',
      registers: [r],
      collect() {
        this.set(read.storeRowsWritten());
      },
    });
    if (read.cluster) this.#clusterGauges(read.cluster);
    const delay = new EventLoopDelayWindows();
    const eldGauge = (name: string, what: string, pick: (w: DelayWindow) => number) =>
      new Gauge({
        name,
        help: `${what} event-loop delay of the front process over the last complete ${DELAY_WINDOW_MS / 1000} s window, in ms (beyond its sampling interval: ${BUSY_RESOLUTION_MS} ms while the loop works, ${IDLE_RESOLUTION_MS} ms after an idle window)`,
        registers: [r],
        collect() {
          this.set(pick(delay.last));
        },
      });
    eldGauge('tendhost_event_loop_delay_p50_ms', 'Median', (w) => w.p50);
    eldGauge('tendhost_event_loop_delay_p99_ms', 'p99', (w) => w.p99);
    eldGauge('tendhost_event_loop_delay_max_ms', 'Largest', (w) => w.max);
    this.#wsDropped = new Counter({ name: 'tendhost_websocket_dropped_total', help: 'WebSocket clients dropped for backpressure', registers: [r] });
    this.#workersReplaced = new Counter({
      name: 'tendhost_worker_replacements_total',
      help: 'Shard workers replaced: died (uncaught error, exit) or silent (terminated by the watchdog)',
      labelNames: ['cause'],
      registers: [r],
    });
    // Requests are counted in a plain Map on the hot path and handed to
    // prom-client only when scraped (a labelled inc() costs about a microsecond).
    const counts = this.#httpCounts;
    const reported = new Map<string, number>();
    this.#http = new Counter({
      name: 'tendhost_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'],
      registers: [r],
      collect() {
        for (const byMethod of counts.values()) for (const { route, method, counts: byStatus } of byMethod.values()) {
          for (const [status, n] of byStatus) {
            const key = `${route} ${method} ${status}`;
            const delta = n - (reported.get(key) ?? 0);
            if (delta === 0) continue;
            this.inc({ route, method, status: String(status) }, delta);
            reported.set(key, n);
          }
        }
      },
    });
    this.#ops = new Histogram({
      name: 'tendhost_operation_duration_seconds',
      help: 'Host operation duration by kind (query, upgrade, reboot, verify)',
      labelNames: ['op', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [r],
    });
    this.#lag = new Gauge({
      name: 'tendhost_broadcaster_lag_ms',
      help: 'Time between a worker posting its metrics and the broadcaster handling them',
      labelNames: ['shard'],
      registers: [r],
    });
  }

  /** Which partitions this node owns, the members it sees, whether NATS is reachable; labelled with the node id. */
  #clusterGauges(status: () => ClusterNodeStatus | null): void {
    const gauge = (name: string, help: string, pick: (s: ClusterNodeStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['node_id'],
        registers: [this.registry],
        collect() {
          const s = status();
          if (s) this.set({ node_id: s.node_id }, pick(s));
        },
      });
    gauge('tendhost_cluster_connected', '1 while this node is connected to NATS, else 0', (s) => (s.connected ? 1 : 0));
    gauge('tendhost_cluster_partitions_owned', 'Partitions this node holds the lease of', (s) => s.partitions.length);
    gauge('tendhost_cluster_partitions_target', 'Partitions this node should hold once the cluster is balanced', (s) => s.target);
    gauge('tendhost_cluster_members', 'Live cluster nodes as this node sees them (itself included)', (s) => s.members.length);
  }

  httpRequest(route: string, method: string, status: number): void {
    // Three lookups and no string building: this runs on every request.
    let byMethod = this.#httpCounts.get(route);
    if (!byMethod) this.#httpCounts.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = { route, method, counts: new Map() };
      byMethod.set(method, byStatus);
    }
    byStatus.counts.set(status, (byStatus.counts.get(status) ?? 0) + 1);
  }

  wsDropped(): void {
    this.#wsDropped.inc();
  }

  workerReplaced(cause: 'died' | 'silent'): void {
    this.#workersReplaced.inc({ cause });
  }

  opDuration(op: string, seconds: number, ok: boolean): void {
    this.#ops.observe({ op, outcome: ok ? 'ok' : 'failed' }, seconds);
  }

  lag(shard: number, ms: number): void {
    this.#lag.set({ shard: String(shard) }, ms);
  }
}
