// The piscina pool of shard workers. Each worker owns exactly one shard; a
// custom load balancer routes every task to the worker that owns the task's
// shard, so a host always lives on the same thread. Each worker streams its
// events back on a MessagePort of its own, handed over at attach time. A
// worker that stops posting (its metrics come every 2 s) is terminated by the
// watchdog, and then handled like one that died.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { TendhostError } from '../../common/errors.js';
import {
  decodeBatch,
  encodeAttachHosts,
  type AttachHost,
  type CommandReply,
  type HostCommand,
  type PortBatch,
  type PortPost,
  type Trace,
  type ReplyOf,
  type WorkerTask,
} from '../../common/thread-protocol.js';
import type { DaemonSettingsForWorkers } from '../../common/config-types.js';
import { shardOf } from './shard-of.js';
import { ShardRoom } from './shard-room.js';

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaTask = Parameters<Balancer>[0];
type PiscinaWorker = Parameters<Balancer>[1][number];

const kQueueOptions = Piscina.queueOptionsSymbol;
/** How long the stop waits for a drained shard's last batches to arrive. */
const DRAINED_WAIT_MS = 5000;
const WORKER_FILE = fileURLToPath(new URL('../../workers/shard.js', import.meta.url));

export type ShardHost = AttachHost;

export interface ShardPoolOptions {
  workers: number;
  settings: DaemonSettingsForWorkers;
  /** Every batch a shard posts, in order. */
  onBatch: (shard: number, batch: PortBatch) => void;
  /** A worker died (or was terminated by the watchdog); its shard has been detached and must be re-attached. */
  onShardLost: (shard: number, reason: string, cause: 'died' | 'silent') => void;
  /** Terminate a shard's worker that has posted nothing for this long (0 = never). */
  watchdogMs: number;
  /** A worker is about to be terminated for its silence. */
  onShardSilent: (shard: number, silentMs: number) => void;
}

export class ShardPool {
  readonly size: number;
  readonly #pool: Piscina;
  readonly #opts: ShardPoolOptions;
  /** shard → piscina worker id that owns it (rebuilt when a worker is replaced). */
  readonly #owner = new Map<number, number>();
  readonly #ports = new Map<number, MessagePort>();
  /** shard → batches read off its port, and who waits for a count at the stop. */
  readonly #received = new Map<number, number>();
  readonly #drained = new Map<number, { posted: number; done: () => void }>();
  readonly #attached = new Set<number>();
  /** shard → when the front last heard from its worker (any batch, or the attach reply). */
  readonly #lastHeard = new Map<number, number>();
  /** Shards whose worker the watchdog terminated, until its exit is handled. */
  readonly #silenced = new Set<number>();
  readonly #watchdog: NodeJS.Timeout | null = null;
  /** Which shards have room for a rollout's next host (shard-room.ts). */
  readonly #room: ShardRoom;
  #lastCheck = Date.now();
  #closing = false;

  constructor(opts: ShardPoolOptions) {
    this.size = opts.workers;
    this.#opts = opts;
    this.#room = new ShardRoom(opts.settings.ssh.max_handshakes_per_worker);
    this.#pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: opts.workers,
      maxThreads: opts.workers,
      idleTimeout: Infinity,
      // Tasks are short (an actor answers at once, work continues inside the
      // worker); many may be in flight per shard.
      concurrentTasksPerWorker: 1024,
      // 'sync' atomics would park an idle worker in Atomics.wait and starve
      // its SSH sockets and timers.
      atomics: 'disabled',
      loadBalancer: (task, workers) => this.#route(task, workers),
    });
    this.#pool.on('workerDestroy', () => this.#onWorkerGone());
    this.#pool.on('error', () => {
      // A worker error is reported per shard through workerDestroy; the pool's
      // own 'error' must have a listener or it would crash the process.
    });
    if (opts.watchdogMs > 0) {
      const every = Math.min(1000, opts.watchdogMs / 4);
      this.#watchdog = setInterval(() => this.#checkSilent(every), every);
      this.#watchdog.unref();
    }
  }

  #checkSilent(every: number): void {
    const now = Date.now();
    // A front thread that was blocked did not hear anyone: that time is not the workers' silence.
    const late = now - this.#lastCheck - every;
    this.#lastCheck = now;
    if (late > every) for (const [shard, t] of this.#lastHeard) this.#lastHeard.set(shard, t + late);
    for (const shard of this.#attached) {
      const silent = now - (this.#lastHeard.get(shard) ?? now);
      if (silent <= this.#opts.watchdogMs) continue;
      // Detached now so it is terminated once; the exit then goes the way of any dead worker.
      this.#attached.delete(shard);
      this.#silenced.add(shard);
      this.#opts.onShardSilent(shard, silent);
      const worker = this.#pool.threads.find((t) => t.threadId === this.#owner.get(shard));
      void worker?.terminate();
    }
  }

  shardOf(name: string): number {
    return shardOf(name, this.size);
  }

  #route(task: PiscinaTask, workers: PiscinaWorker[]): PiscinaWorker | null {
    const opts = (task as unknown as Record<symbol, { shard: number } | null>)[kQueueOptions];
    if (!opts) return null;
    const owner = this.#owner.get(opts.shard);
    if (owner !== undefined) return workers.find((w) => w.id === owner && !w.terminating && !w.destroyed) ?? null;
    // First task of a shard (its attach): claim a worker no other shard owns.
    const taken = new Set(this.#owner.values());
    const free = workers.find((w) => !taken.has(w.id) && !w.terminating && !w.destroyed);
    if (!free) return null; // stays queued until a worker is ready
    this.#owner.set(opts.shard, free.id);
    return free;
  }

  #onWorkerGone(): void {
    // A worker that exited already reads threadId -1 here (so does the
    // destroyed worker's interface): compare owners with the live threads.
    const live = new Set(this.#pool.threads.map((t) => t.threadId).filter((id) => id >= 0));
    for (const [shard, workerId] of this.#owner) {
      if (live.has(workerId)) continue;
      this.#owner.delete(shard);
      this.#ports.get(shard)?.close();
      this.#ports.delete(shard);
      this.#attached.delete(shard);
      const silenced = this.#silenced.delete(shard);
      if (this.#closing) continue;
      if (silenced) this.#opts.onShardLost(shard, `worker ${workerId} of shard ${shard} stopped answering and was terminated`, 'silent');
      else this.#opts.onShardLost(shard, `worker ${workerId} of shard ${shard} exited`, 'died');
    }
  }

  /** The worker's reply is the one its task kind has (WorkerReplies; the shard's handler table keeps to it). */
  run<T extends WorkerTask>(task: T, transferList?: MessagePort[]): Promise<ReplyOf<T['kind']>> {
    const routed = Object.assign(task, { [kQueueOptions]: { shard: task.shard } });
    return this.#pool.run(routed, transferList ? { transferList } : undefined) as Promise<ReplyOf<T['kind']>>;
  }

  /** Start (or restart) one shard with its hosts. */
  async attach(shard: number, hosts: ShardHost[]): Promise<ReplyOf<'attach'>> {
    const { port1, port2 } = new MessageChannel();
    this.#received.set(shard, 0);
    this.#room.reset(shard);
    port1.on('message', (post: PortPost) => {
      this.#lastHeard.set(shard, Date.now());
      const received = (this.#received.get(shard) ?? 0) + 1;
      this.#received.set(shard, received);
      const batch = decodeBatch(post);
      // The shard's backlog rides last in a batch; it is the pool's, not the read model's.
      const last = batch[batch.length - 1];
      if (last?.kind === 'backlog') {
        batch.pop();
        this.#room.report(last);
      }
      if (batch.length > 0) this.#opts.onBatch(shard, batch);
      const drained = this.#drained.get(shard);
      if (drained && received >= drained.posted) drained.done();
    });
    this.#ports.set(shard, port1);
    const reply = await this.run({ kind: 'attach', shard, port: port2, settings: this.#opts.settings, hosts_json: encodeAttachHosts(hosts) }, [port2]);
    this.#lastHeard.set(shard, Date.now());
    this.#attached.add(shard);
    return reply;
  }

  /** Every shard has a live worker. */
  get ready(): boolean {
    return !this.#closing && this.#attached.size === this.size;
  }

  /**
   * Room on the host's shard for one more rollout host: true now, or a
   * promise of true once there is, false if `signal` aborts first. A room
   * granted is used by the next command({ reserved: true }) for a host of
   * that shard, or given back with releaseRoom().
   */
  room(host: string, signal?: AbortSignal): true | Promise<boolean> {
    return this.#room.take(this.shardOf(host), signal);
  }

  /** Hosts the pool's shards together may have waiting to connect before room() makes more wait. */
  get roomCapacity(): number {
    return this.size * this.#opts.settings.ssh.max_handshakes_per_worker;
  }

  releaseRoom(host: string): void {
    this.#room.release(this.shardOf(host));
  }

  async command(host: string, command: HostCommand, trace: Trace, opts: { readYourWrites: boolean; reserved?: boolean } = { readYourWrites: true }): Promise<CommandReply> {
    const shard = this.shardOf(host);
    this.#room.sent(shard, opts.reserved ?? false);
    try {
      const { reply } = await this.run({ kind: 'command', shard, host, command, trace, read_your_writes: opts.readYourWrites });
      return reply;
    } catch (err) {
      if (err instanceof TendhostError) throw err;
      // What piscina said stays in the log (as the cause), not in the answer.
      throw new TendhostError('WORKER_UNAVAILABLE', `the worker of shard ${shard}, which owns host ${host}, is unavailable (it is being replaced); try again`, undefined, { cause: err });
    }
  }

  /** Let running operations finish (bounded), then stop every worker. */
  async close(graceMs: number): Promise<void> {
    if (this.#closing) return;
    // A draining worker may be slow to post; it is stopped on purpose below anyway.
    if (this.#watchdog) clearInterval(this.#watchdog);
    const shards = [...this.#owner.keys()];
    await Promise.allSettled(shards.map((shard) => this.#drain(shard, graceMs)));
    this.#closing = true;
    await this.#pool.close({ force: true });
    for (const p of this.#ports.values()) p.close();
  }

  /**
   * One shard's drain, done once the front has read every batch the shard
   * posted: the last statuses travel on the shard's port, the reply on
   * piscina's, and the two are not ordered. A status read after the port is
   * closed would be lost, and the host restored mid-operation next start.
   */
  async #drain(shard: number, graceMs: number): Promise<void> {
    const { posted } = await this.run({ kind: 'drain', shard, grace_ms: graceMs });
    if ((this.#received.get(shard) ?? 0) >= posted) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#drained.set(shard, { posted, done: resolve });
      // Bounded: a port that never delivers (its worker gone) does not hold the stop.
      timer = setTimeout(resolve, DRAINED_WAIT_MS);
    });
    clearTimeout(timer);
    this.#drained.delete(shard);
  }

  async destroy(): Promise<void> {
    this.#closing = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    await this.#pool.destroy();
    for (const p of this.#ports.values()) p.close();
  }
}
