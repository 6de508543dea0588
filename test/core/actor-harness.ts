// One host actor with the real operations (package drivers, reboot, verify)
// over a ScriptedExecutor, in this thread: no worker, no SSH, no daemon. What
// the actor emits is collected; `settle` runs the actor until its operation
// rests, firing timers on a fake clock so reboot polls and maintenance windows
// take no real time.
import { syncBuiltinESMExports } from 'node:module';
import { mock } from 'node:test';
import { HostActor } from '../../workers/actor.js';
import { createHostOperations } from '../../workers/operations.js';
import type { DaemonSettingsForWorkers } from '../../common/config-types.js';
import type { HostStatus, ResolvedHost } from '../../common/schemas/host.js';
import type { CommandReply, HostCommand, PortMessage, Trace } from '../../common/thread-protocol.js';
import type { UnstampedEvent } from '../../common/schemas/events.js';
import { ScriptedExecutor } from './scripted-executor.js';

export type JobResult = Extract<PortMessage, { kind: 'job_result' }>;

export const SETTINGS: DaemonSettingsForWorkers = {
  state_dir: 'state',
  nice: 0,
  ssh: {
    host_key_policy: 'accept-new',
    known_hosts: 'state/known_hosts',
    connect_timeout_ms: 10_000,
    idle_timeout_ms: 60_000,
    keepalive_ms: 15_000,
    max_sessions_per_worker: 10,
    max_handshakes_per_worker: 10,
    default_key: null,
    key_passphrase: null,
  },
  operations: {
    command_timeout_ms: 1_800_000,
    lock_timeout_ms: 300_000,
    max_output_bytes: 8 * 1024 * 1024,
    reboot_deadline_ms: 600_000,
    reboot_poll_ms: 5_000,
    inventory_ttl_ms: 300_000,
  },
};

export function resolvedHost(patch: Partial<ResolvedHost> = {}, policy: Partial<ResolvedHost['policy']> = {}): ResolvedHost {
  return {
    name: 'web1',
    addr: '192.0.2.10',
    port: 22,
    user: 'root',
    ssh_key: null,
    compose_paths: [],
    tags: ['web'],
    policy: { auto_reboot: false, maintenance_window: null, verify_command: null, ...policy },
    docker: { compose_version: null, pull_before_update: true },
    ...patch,
  };
}

/**
 * Fake clock: Date and setTimeout (also `node:timers/promises`, which the
 * Compose check sleeps with: syncing the builtin ESM exports hands modules
 * that imported it the mocked function) from here until `restore`.
 */
export function fakeClock(startIso: string): { restore: () => void } {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse(startIso) });
  syncBuiltinESMExports();
  return {
    restore: () => {
      mock.timers.reset();
      syncBuiltinESMExports();
    },
  };
}

let jobSeq = 0;

export class ActorRig {
  readonly exec = new ScriptedExecutor();
  readonly emitted: PortMessage[] = [];
  readonly actor: HostActor;

  constructor(host: ResolvedHost = resolvedHost(), restore?: Partial<HostStatus>, settings: DaemonSettingsForWorkers = SETTINGS) {
    const links = {
      ssh: {
        executorFor: (_h: ResolvedHost, onNotice: ScriptedExecutor['onNotice']) => {
          this.exec.onNotice = onNotice;
          return this.exec.reopen();
        },
        acceptNewHostKey: () => {
          const had = this.exec.keyToAccept;
          this.exec.keyToAccept = false;
          return had;
        },
      },
    };
    const ops = createHostOperations(host, settings, links, (n) => this.actor.notice(n));
    this.actor = new HostActor(host, ['edge'], { shard: 0, emit: (m) => this.emitted.push(m), operations: ops, now: () => new Date() }, restore);
  }

  /** Sends a command as a job (so the actor reports the job's result) and returns the actor's answer. */
  command(cmd: HostCommand, job: string | null = `job-${++jobSeq}`): Promise<CommandReply> {
    const trace: Trace = { job_id: job, request_id: job ? `req-${job}` : null, user: 'tester' };
    return Promise.resolve(this.actor.command(cmd, trace));
  }

  /** Runs the actor until `done` holds: lets promises settle, then fires every due timer (fake clock only). */
  async settle(done: () => boolean = () => !this.actor.busy, fakeTimers = false): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      await new Promise((r) => setImmediate(r));
      if (done()) return;
      if (fakeTimers) mock.timers.runAll();
    }
    throw new Error(`actor did not settle: state ${this.actor.state}, last commands ${this.exec.ran.slice(-3).join(' | ')}`);
  }

  /** Runs one command as a job to its end; returns the job result the actor reported. */
  async job(cmd: HostCommand, fakeTimers = false): Promise<JobResult> {
    const before = this.results().length;
    const reply = await this.command(cmd);
    if (!reply.ok) throw new Error(`refused: ${reply.error.code} ${reply.error.message}`);
    await this.settle(() => this.results().length > before && !this.actor.busy, fakeTimers);
    return this.results()[this.results().length - 1];
  }

  results(): JobResult[] {
    return this.emitted.filter((m): m is JobResult => m.kind === 'job_result');
  }

  events(): UnstampedEvent[] {
    return this.emitted.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
  }

  /** `from->to` of every HostStateChanged, in order. */
  edges(): string[] {
    return this.events().flatMap((e) => (e.type === 'HostStateChanged' ? [`${e.from}->${e.to}`] : []));
  }

  /** The last status the actor published (what the read model would hold). */
  lastStatus(): HostStatus {
    const s = this.emitted.filter((m) => m.kind === 'status');
    const last = s[s.length - 1];
    if (last?.kind !== 'status') throw new Error('no status published');
    return last.status;
  }
}
