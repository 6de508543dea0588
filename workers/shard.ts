// Worker-thread entry: one shard of the fleet. Owns Map<name, HostActor>,
// answers the front process's tasks (piscina), and streams every status
// change and event back over the MessagePort it was given at attach time,
// batched over a short window (FLUSH_WINDOW_MS).
import { threadId } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import { TendhostError, asTendhostError } from '../common/errors.js';
import { decodeAttachHosts, encodeBatch, type CommandReply, type PortMessage, type ReplyOf, type TaskKind, type TaskOf, type WorkerReply, type WorkerTask } from '../common/thread-protocol.js';
import type { DaemonSettingsForWorkers } from '../common/config-types.js';
import type { HostStatus, ResolvedHost } from '../common/schemas/host.js';
import { lowerThisThreadPriority } from '../common/thread-priority.js';
import { nameThisThread } from '../common/thread-name.js';
import { HostActor } from './actor.js';
import { createHostOperations, createShardResources, type ShardResources } from './operations.js';
import { OperationGate } from './operation-gate.js';
import { ShardBacklog } from './shard-backlog.js';
import { Outbox } from './outbox.js';

interface ShardState {
  shard: number;
  port: MessagePort;
  settings: DaemonSettingsForWorkers;
  resources: ShardResources;
  actors: Map<string, HostActor>;
  /** At most max_sessions_per_worker operations at once; the rest wait as names. */
  gate: OperationGate;
  /** Told to the front at the end of a batch, for its pacing of rollouts. */
  backlog: ShardBacklog;
}

let current: ShardState | null = null;
const outbox = new Outbox();
let flushScheduled = false;
/** Batches posted on the port: the drain's reply says how many, so the front reads them all before it closes the port. */
let posted = 0;

function post(state: ShardState, batch: PortMessage[]): void {
  posted++;
  state.port.postMessage(encodeBatch(batch));
}

function flush(): void {
  flushScheduled = false;
  if (!current) return;
  const backlog = current.backlog.take();
  if (outbox.length === 0 && !backlog) return;
  const batch = outbox.takeAll();
  if (backlog) batch.push(backlog);
  post(current, batch);
}

/**
 * How long messages gather before a batch goes out. Every postMessage wakes
 * the front thread and costs a fixed clone-and-dispatch overhead; at fleet
 * scale, per-turn batches meant thousands of tiny batches a second per
 * worker. A few milliseconds of added latency on an event is invisible to a
 * dashboard, and the front thread handles fewer, larger batches.
 */
const FLUSH_WINDOW_MS = 5;

/** Queue a message; everything emitted within one flush window goes out as one batch. */
function emit(msg: PortMessage): void {
  outbox.push(msg);
  scheduleFlush();
}

function scheduleFlush(): void {
  if (!flushScheduled) {
    flushScheduled = true;
    setTimeout(flush, FLUSH_WINDOW_MS);
  }
}

function newActor(state: ShardState, host: ResolvedHost, groups: string[], restore?: Partial<HostStatus>): HostActor {
  let actor: HostActor | null = null;
  const operations = createHostOperations(host, state.settings, state.resources, (notice) => actor?.notice(notice));
  actor = new HostActor(host, groups, { shard: state.shard, emit, operations, gate: state.gate }, restore);
  return actor;
}

function requireShard(shard: number): ShardState {
  if (!current) throw new TendhostError('WORKER_UNAVAILABLE', 'worker is not attached to a shard yet');
  if (current.shard !== shard) {
    // The balancer routed a task to the wrong thread: a bug worth failing loudly on.
    throw new TendhostError('INTERNAL', `task for shard ${shard} reached shard ${current.shard}`);
  }
  return current;
}

let eluPrev = performance.eventLoopUtilization();
function startMetrics(state: ShardState): void {
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, eluPrev);
    eluPrev = now;
    const s = state.resources.stats();
    const mem = process.memoryUsage();
    emit({
      kind: 'metrics',
      shard: state.shard,
      sessions_open: s.sessions_open,
      handshakes_in_flight: s.handshakes_in_flight,
      elu: delta.utilization,
      heap_used: mem.heapUsed,
      heap_total: mem.heapTotal,
      external: mem.external,
      sent_at: Date.now(),
    });
  }, 2000);
  timer.unref();
}

// A worker that hits an error nobody caught reports it and exits non-zero; the
// pool replaces it and fails that shard's in-flight work.
function fatal(err: unknown): void {
  const e = asTendhostError(err, 'WORKER_FAILED');
  try {
    if (current) {
      outbox.push({ kind: 'fatal', shard: current.shard, error: e.toWire() });
      flush();
    }
  } finally {
    process.exit(70);
  }
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

/**
 * A task's status changes go out before its reply, so a client that reads the
 * host right after a command's 202 sees the new state (read-your-writes). Its
 * events follow right behind the reply (next turn), so the front answers and
 * audits the request before the operation's own lines. Background work (SSH,
 * timers) and a rollout's commands keep the batching window.
 */
export default async function handle(task: WorkerTask): Promise<WorkerReply> {
  try {
    return await handleTask(task);
  } finally {
    if (task.kind !== 'command' || task.read_your_writes) {
      flushStatuses();
      setImmediate(flush);
    }
  }
}

/** Post the queued status messages now (Outbox.takeStatuses); everything else stays queued, in order. */
function flushStatuses(): void {
  if (!current) return;
  const statuses = outbox.takeStatuses();
  if (statuses.length > 0) post(current, statuses);
}

/** One handler per task kind, each typed to return that kind's reply (WorkerReplies). */
const HANDLERS: { [K in TaskKind]: (task: TaskOf<K>) => ReplyOf<K> | Promise<ReplyOf<K>> } = {
  attach(task) {
    if (current) throw new TendhostError('INTERNAL', `worker already owns shard ${current.shard}`);
    nameThisThread(`shard-${task.shard}`);
    const resources = createShardResources(task.settings);
    const actors = new Map<string, HostActor>();
    const gate = new OperationGate(task.settings.ssh.max_sessions_per_worker, (name) => actors.get(name)?.resume() ?? false);
    const backlog = new ShardBacklog(task.shard, () => resources.stats().queued + gate.waiting, scheduleFlush);
    current = { shard: task.shard, port: task.port, settings: task.settings, resources, actors, gate, backlog };
    for (const h of decodeAttachHosts(task.hosts_json)) current.actors.set(h.host.name, newActor(current, h.host, h.groups, h.restore));
    startMetrics(current);
    // Building the actors and posting their first statuses (after this returns)
    // is start-up work the front waits for, not background work: the thread
    // drops to worker_nice only then. At nice 10 on a busy machine, 50,000
    // actors took several times as long to come up.
    setImmediate(() => lowerThisThreadPriority(task.settings.nice));
    return { kind: 'attached', shard: task.shard, hosts: current.actors.size, thread_id: threadId };
  },
  add_host(task) {
    const state = requireShard(task.shard);
    let actor = state.actors.get(task.host.name);
    if (actor) actor.reconfigure(task.host, task.groups);
    else state.actors.set(task.host.name, (actor = newActor(state, task.host, task.groups, task.restore)));
    return { kind: 'added', status: actor.status };
  },
  async remove_host(task) {
    const state = requireShard(task.shard);
    const actor = state.actors.get(task.name);
    if (!actor) return { kind: 'command', reply: notFound(task.name) };
    if (actor.busy && !task.force) {
      return {
        kind: 'command',
        reply: { ok: false, state: actor.state, error: { code: 'HOST_BUSY', message: `host ${task.name} is busy (${actor.state})` } },
      };
    }
    state.actors.delete(task.name);
    emit({ kind: 'removed', name: task.name });
    await actor.stop();
    return { kind: 'command', reply: { ok: true, state: actor.state } };
  },
  set_groups(task) {
    const state = requireShard(task.shard);
    const byHost = new Map<string, string[]>();
    for (const [g, members] of Object.entries(task.groups)) {
      for (const m of members) byHost.set(m, [...(byHost.get(m) ?? []), g]);
    }
    for (const [name, actor] of state.actors) actor.setGroups(byHost.get(name) ?? []);
    return { kind: 'done' };
  },
  async command(task) {
    const state = requireShard(task.shard);
    state.backlog.commandHandled();
    const actor = state.actors.get(task.host);
    if (!actor) return { kind: 'command', reply: notFound(task.host) };
    const reply = await actor.command(task.command, task.trace);
    return { kind: 'command', reply };
  },
  async drain(task) {
    const state = requireShard(task.shard);
    const deadline = Date.now() + task.grace_ms;
    while (Date.now() < deadline && [...state.actors.values()].some((a) => a.busy)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // Past the grace period: what still runs is interrupted, and says so.
    for (const a of state.actors.values()) if (a.busy) a.interrupt('daemon stopped');
    await Promise.all([...state.actors.values()].map((a) => a.stop()));
    await state.resources.close();
    state.backlog.stop();
    flush();
    return { kind: 'drained', posted };
  },
  crash(task) {
    // Test-only switch (the front process only sends it when enabled): die like a real bug would.
    setImmediate(() => {
      throw new Error(`crash requested for shard ${task.shard}`);
    });
    return { kind: 'done' };
  },
  freeze() {
    // Test-only switch, like crash: hang like a real bug would (no reply, no more reports), until terminated.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    return { kind: 'done' };
  },
};

function handleTask(task: WorkerTask): WorkerReply | Promise<WorkerReply> {
  const handler = HANDLERS[task.kind] as ((t: WorkerTask) => WorkerReply | Promise<WorkerReply>) | undefined; // TS cannot pair a union member with its handler
  if (!handler) throw new Error(`unhandled worker task ${JSON.stringify(task.kind)}`);
  return handler(task);
}

function notFound(name: string): CommandReply {
  return { ok: false, error: { code: 'HOST_NOT_FOUND', message: `host ${name} not found` } };
}
