// Everything that crosses between the front process and a shard worker.
// Both sides import this file; every switch over these unions ends in
// `unreachable()` so a new kind that is not handled fails to compile.
import type { MessagePort } from 'node:worker_threads';
import { HOST_COMMAND_ERRORS, type ErrorCode, type WireError } from './errors.js';
import type { HostState, HostStatus, ResolvedHost } from './schemas/host.js';
import type { UnstampedEvent } from './schemas/events.js';
import type { DaemonSettingsForWorkers } from './config-types.js';
import type { Lifecycle } from './host-machine.js';

/** Context carried with every operation so logs, events and audit line up. */
export interface Trace {
  job_id: string | null;
  request_id: string | null;
  user: string | null;
}

export type HostCommand =
  | { kind: 'update'; dry_run: boolean }
  | { kind: 'query' }
  | { kind: 'reboot' }
  | { kind: 'retry' }
  | { kind: 'acknowledge' }
  | { kind: 'accept_host_key' }
  | { kind: 'inventory'; refresh: boolean };

/**
 * What a host's actor may refuse each command with (the actor itself, its
 * machine's refusals, and for inventory the host's own failures); the REST
 * API documents these for the routes that send the command.
 */
export const COMMAND_ERRORS = {
  update: ['HOST_NOT_FOUND', 'HOST_BUSY', 'HOST_FAILED', 'INVALID_HOST_STATE'],
  query: ['HOST_NOT_FOUND', 'HOST_BUSY', 'HOST_FAILED', 'INVALID_HOST_STATE'],
  reboot: ['HOST_NOT_FOUND', 'HOST_BUSY', 'HOST_FAILED', 'INVALID_HOST_STATE'],
  retry: ['HOST_NOT_FOUND', 'HOST_BUSY', 'HOST_NOT_FAILED'],
  acknowledge: ['HOST_NOT_FOUND', 'HOST_NOT_FAILED'],
  accept_host_key: ['HOST_NOT_FOUND', 'NOTHING_TO_ACCEPT'],
  inventory: ['HOST_NOT_FOUND', ...HOST_COMMAND_ERRORS],
} as const satisfies Record<HostCommand['kind'], readonly ErrorCode[]>;

/** One host a shard gets at attach: its config, its groups, what its actor starts from. */
export interface AttachHost {
  host: ResolvedHost;
  groups: string[];
  restore?: Partial<HostStatus>;
}

/** Tasks the front process runs on a worker through piscina (request → reply). */
export type WorkerTask =
  | {
      kind: 'attach';
      shard: number;
      port: MessagePort;
      settings: DaemonSettingsForWorkers;
      /** JSON of AttachHost[] (see encodeAttachHosts). */
      hosts_json: string;
    }
  /** `restore`: the status a new actor starts from (a cluster partition taken over). */
  | { kind: 'add_host'; shard: number; host: ResolvedHost; groups: string[]; restore?: Partial<HostStatus> }
  | { kind: 'remove_host'; shard: number; name: string; force: boolean }
  | { kind: 'set_groups'; shard: number; groups: Record<string, string[]> }
  /**
   * `read_your_writes`: the caller answers an API client as soon as this
   * returns, so the worker sends the host's status changes before the reply
   * (a rollout's many commands leave them to the batching window).
   */
  | { kind: 'command'; shard: number; host: string; command: HostCommand; trace: Trace; read_your_writes: boolean }
  | { kind: 'drain'; shard: number; grace_ms: number }
  | { kind: 'crash'; shard: number }
  | { kind: 'freeze'; shard: number };

export type CommandReply =
  | { ok: true; state: HostState; data?: unknown }
  | { ok: false; error: WireError; state?: HostState };

export type TaskKind = WorkerTask['kind'];
export type TaskOf<K extends TaskKind> = Extract<WorkerTask, { kind: K }>;

/** Fails to compile unless every task kind has its reply. */
type ReplyTable<T extends Record<TaskKind, { kind: string }>> = T;

/** What a worker answers to each kind of task: `ShardPool.run(task)` returns `ReplyOf<task.kind>`. */
export type WorkerReplies = ReplyTable<{
  attach: { kind: 'attached'; shard: number; hosts: number; thread_id: number };
  /** The host's actor exists now; its first status, so the front can show it at once. */
  add_host: { kind: 'added'; status: HostStatus };
  remove_host: { kind: 'command'; reply: CommandReply };
  set_groups: { kind: 'done' };
  command: { kind: 'command'; reply: CommandReply };
  /** `posted`: batches this shard's port carried in all; the front reads that many before it closes the port. */
  drain: { kind: 'drained'; posted: number };
  crash: { kind: 'done' };
  freeze: { kind: 'done' };
}>;
export type ReplyOf<K extends TaskKind> = WorkerReplies[K];
export type WorkerReply = WorkerReplies[TaskKind];

/** Messages a worker posts on its MessagePort, in order, batched per tick. */
export type PortMessage =
  | { kind: 'status'; status: HostStatus }
  | { kind: 'event'; event: UnstampedEvent }
  | { kind: 'removed'; name: string }
  /** A step of the host's update lifecycle, as its machine decided it, with the operation's trace. */
  | { kind: 'lifecycle'; host: string; fact: Lifecycle; job_id: string | null; request_id: string | null }
  | {
      kind: 'job_result';
      job_id: string;
      host: string;
      success: boolean;
      state: HostState;
      error: string | null;
      code: string | null;
      /** When the operation ended, by the worker's clock (not when the front read it). */
      finished_at: string;
    }
  /**
   * Last in a batch, when it changed: operations waiting for a connection on
   * the shard and command tasks it has handled (the front's pacing of
   * rollouts, src/pool/shard-room.ts).
   */
  | { kind: 'backlog'; shard: number; waiting: number; handled: number }
  | { kind: 'metrics'; shard: number; sessions_open: number; handshakes_in_flight: number; elu: number; heap_used: number; heap_total: number; external: number; sent_at: number }
  | { kind: 'op_duration'; op: 'query' | 'upgrade' | 'reboot' | 'verify'; seconds: number; ok: boolean }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> }
  | { kind: 'fatal'; shard: number; error: WireError };

/** A shard's backlog report (workers/shard-backlog.ts → src/pool/shard-room.ts). */
export type BacklogMessage = Extract<PortMessage, { kind: 'backlog' }>;

export type PortBatch = PortMessage[];

/**
 * What a worker posts on its port: a batch, or a big one as its JSON text.
 * Structured clone of tens of thousands of small objects (a shard's first
 * statuses at start-up: 50,000 at 100,000 hosts) costs the receiver about
 * twice what JSON.parse of the same data does; small batches stay objects.
 */
export type PortPost = PortBatch | string;
const JSON_BATCH_FROM = 256;

export function encodeBatch(batch: PortBatch): PortPost {
  return batch.length >= JSON_BATCH_FROM ? JSON.stringify(batch) : batch;
}

export function decodeBatch(post: PortPost): PortBatch {
  return typeof post === 'string' ? (JSON.parse(post) as PortBatch) : post;
}

/** A shard's hosts for its attach task, as text for the same reason as big port batches. */
export function encodeAttachHosts(hosts: AttachHost[]): string {
  return JSON.stringify(hosts);
}

export function decodeAttachHosts(json: string): AttachHost[] {
  return JSON.parse(json) as AttachHost[];
}

export function unreachable(value: never, what = 'message'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
