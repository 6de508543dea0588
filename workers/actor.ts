// One host's actor: applies commands to the pure machine, runs the effects
// one at a time (each performed by actor-effects.ts through the host's
// operations), feeds their results back as machine inputs, and reports every
// change (status + events) through its report (actor-report.ts).
import { asTendhostError, type WireError } from '../common/errors.js';
import type { CommandReply, HostCommand, PortMessage, Trace } from '../common/thread-protocol.js';
import { BUSY_STATES, type HostState, type HostStatus, type ResolvedHost } from '../common/schemas/host.js';
import { now as clockNow } from '../common/clock.js';
import { INITIAL, transition, type Effect, type MachineInput, type Outcome, type Snapshot } from '../common/host-machine.js';
import type { HostOperations } from './operations.js';
import { performEffect, type ActorFacts, type EffectTarget } from './actor-effects.js';
import { ActorReport } from './actor-report.js';
import { RebootWindow } from './reboot-window.js';
import { configFacts, initialStatus } from './actor-status.js';

export interface ActorDeps {
  shard: number;
  emit: (msg: PortMessage) => void;
  operations: HostOperations;
  now?: () => Date;
  /** The shard's cap on operations running at once (operation-gate.ts); none: run at once. */
  gate?: { enter(name: string): boolean; leave(): void };
}

const NO_TRACE: Trace = { job_id: null, request_id: null, user: null };

export class HostActor {
  readonly name: string;
  #host: ResolvedHost;
  #groups: string[];
  /** The machine's state: the one place the host's state and failure live. */
  #snap: Snapshot;
  /** Everything else the host's status reports. */
  #facts: ActorFacts;
  #trace: Trace = NO_TRACE;
  #running = false;
  #queue: MachineInput[] = [];
  /** An operation's first effects, waiting for the shard's gate (resume() runs them). */
  #parked: Effect[] | null = null;
  readonly #rebootWindow: RebootWindow;
  #stopped = false;
  readonly #deps: ActorDeps;
  readonly #now: () => Date;
  readonly #report: ActorReport;
  /** What the effects see of this actor (actor-effects.ts). */
  readonly #effectTarget: EffectTarget;

  constructor(host: ResolvedHost, groups: string[], deps: ActorDeps, restore?: Partial<HostStatus>) {
    this.name = host.name;
    this.#host = host;
    this.#groups = groups;
    this.#deps = deps;
    this.#now = deps.now ?? clockNow;
    this.#rebootWindow = new RebootWindow(this.#now);
    this.#report = new ActorReport(host.name, deps.emit, () => this.#trace);
    const { state, failed, ...facts } = initialStatus(host, groups, deps.shard, restore);
    this.#facts = facts;
    this.#snap = { ...INITIAL, state, failed, retries: failed?.retry_count ?? 0 };
    this.#effectTarget = this.#makeEffectTarget();
    this.#publishStatus();
  }

  get state(): HostState {
    return this.#snap.state;
  }

  get busy(): boolean {
    return this.#running || BUSY_STATES.has(this.#snap.state);
  }

  get status(): HostStatus {
    return { ...this.#facts, state: this.#snap.state, failed: this.#snap.failed };
  }

  /** Config changed (reload / re-register): keep runtime state, refresh the rest. */
  reconfigure(host: ResolvedHost, groups: string[]): void {
    this.#host = host;
    this.#groups = groups;
    this.#facts = { ...this.#facts, ...configFacts(host, groups) };
    this.#deps.operations.reconfigure(host);
    this.#publishStatus();
  }

  setGroups(groups: string[]): void {
    if (groups.join('\0') === this.#groups.join('\0')) return;
    this.#groups = groups;
    this.#facts = { ...this.#facts, groups };
    this.#publishStatus();
  }

  /** Handle an operator/automation command; answers at once, work continues. */
  command(cmd: HostCommand, trace: Trace): CommandReply | Promise<CommandReply> {
    if (this.#stopped) return this.#error({ code: 'HOST_NOT_FOUND', message: `host ${this.name} was removed` });
    switch (cmd.kind) {
      case 'update':
        return this.#start({ type: 'UPDATE', dry_run: cmd.dry_run }, trace);
      case 'query':
        return this.#start({ type: 'QUERY' }, trace);
      case 'reboot':
        return this.#start({ type: 'REBOOT' }, trace);
      case 'retry':
        return this.#start({ type: 'RETRY' }, trace);
      case 'acknowledge':
        return this.#start({ type: 'ACKNOWLEDGE' }, trace);
      case 'accept_host_key':
        return this.#deps.operations.acceptHostKey()
          ? { ok: true, state: this.#snap.state }
          : this.#error({ code: 'NOTHING_TO_ACCEPT', message: `host ${this.name} has no changed host key to accept` });
      case 'inventory':
        return this.#deps.operations
          .inventory(cmd.refresh)
          .then((data): CommandReply => ({ ok: true, state: this.#snap.state, data }))
          .catch((err) => this.#error(asTendhostError(err).toWire()));
      default: {
        const never: never = cmd;
        throw new Error(`unhandled host command ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * The daemon is stopping and the grace period is over: an operation still
   * running becomes a failure with the reason, reported like any other.
   */
  interrupt(cause: string): void {
    if (!this.#running && !BUSY_STATES.has(this.#snap.state)) return;
    this.#stopped = true; // the effect loop stops at its next step
    const outcome = transition(this.#snap, {
      type: 'INTERRUPTED',
      code: 'INTERRUPTED',
      error: `interrupted: ${cause} during ${this.#snap.state}`,
      at: this.#now().toISOString(),
    });
    if (!outcome.ok) return;
    this.#parked = null; // a turn at the gate that comes later finds nothing to run
    this.#facts = { ...this.#facts, error: outcome.next.failed?.error ?? null };
    this.#apply(outcome);
    this.#running = false;
    this.#maybeFinish();
  }

  /** Stop taking work; close the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#report.silence();
    this.#rebootWindow.cancel();
    await this.#deps.operations.close();
  }

  #error(error: WireError): CommandReply {
    return { ok: false, error, state: this.#snap.state };
  }

  #start(input: MachineInput, trace: Trace): CommandReply {
    if (this.#running && input.type !== 'ACKNOWLEDGE') {
      return this.#error({ code: 'HOST_BUSY', message: `host ${this.name} is busy (${this.#snap.state})` });
    }
    const outcome = transition(this.#snap, input);
    if (!outcome.ok) return this.#error({ code: outcome.refused, message: `${this.name}: ${outcome.reason}` });
    if (input.type !== 'ACKNOWLEDGE' && input.type !== 'RETRY') {
      this.#trace = trace;
      this.#facts = { ...this.#facts, job_id: trace.job_id, error: null };
      this.#report.log('info', 'operation started', { input: input.type, user: trace.user });
    }
    if (input.type === 'RETRY') this.#facts = { ...this.#facts, error: null };
    this.#apply(outcome);
    if (outcome.effects.length > 0) this.#begin(outcome.effects);
    else this.#maybeFinish();
    return { ok: true, state: this.#snap.state };
  }

  /** Run an operation now, or park it until the shard's gate lets the host in (busy meanwhile). */
  #begin(effects: Effect[]): void {
    const gate = this.#deps.gate;
    // An acknowledge during a running operation runs beside it, as it always did.
    if (!gate || this.#running) {
      void this.#run(effects, false);
      return;
    }
    this.#running = true;
    if (gate.enter(this.name)) void this.#run(effects, true);
    else this.#parked = effects;
  }

  /** The gate's turn (OperationGate's wake): false when nothing is left to run (interrupted, removed). */
  resume(): boolean {
    const effects = this.#parked;
    this.#parked = null;
    if (!effects || this.#stopped) return false;
    void this.#run(effects, true);
    return true;
  }

  /** Runs effects in order; each effect's result is the next machine input. `admitted`: leaves the gate when done. */
  async #run(effects: Effect[], admitted: boolean): Promise<void> {
    this.#running = true;
    const pending = [...effects];
    try {
      while (pending.length > 0 && !this.#stopped) {
        const effect = pending.shift() as Effect;
        const input = await performEffect(effect, this.#effectTarget);
        if (!input) continue;
        const outcome = transition(this.#snap, input);
        if (!outcome.ok) {
          this.#report.log('warn', 'machine refused an effect result', { input: input.type, reason: outcome.reason });
          continue;
        }
        this.#apply(outcome);
        pending.push(...outcome.effects);
      }
    } finally {
      this.#running = false;
      if (admitted) this.#deps.gate?.leave();
      this.#maybeFinish();
    }
  }

  #makeEffectTarget(): EffectTarget {
    // Getters: the effects read the actor's current trace and intent.
    const actor = this;
    return {
      name: this.name,
      operations: this.#deps.operations,
      get trace() {
        return actor.#trace;
      },
      get intent() {
        return actor.#snap.intent;
      },
      now: () => this.#now(),
      patchFacts: (patch) => {
        this.#facts = { ...this.#facts, ...patch };
      },
      event: (body) => this.#report.event(body),
      emit: (msg) => this.#deps.emit(msg),
      publishStatus: () => this.#publishStatus(),
      rebootIfAllowed: () => this.#rebootIfAllowed(),
    };
  }

  #rebootIfAllowed(): MachineInput | null {
    // Not now: come back when the window opens (the operation rests until then).
    const whenOpen = () => {
      if (this.#snap.state === 'waiting_reboot' && !this.#running) this.#start({ type: 'REBOOT' }, this.#trace);
    };
    return this.#rebootWindow.allows(this.#host.policy, whenOpen) ? { type: 'REBOOT' } : null;
  }

  #apply({ next, changed, lifecycle }: Extract<Outcome, { ok: true }>): void {
    const from = this.#snap.state;
    this.#snap = next;
    // Status first, so a client that reacts to the event reads the new state.
    this.#publishStatus();
    if (changed) this.#report.event({ type: 'HostStateChanged', host: this.name, from, to: next.state });
    if (lifecycle) this.#report.lifecycle(lifecycle);
  }

  /** An operation ended (the host rests): report its job's outcome once. */
  #maybeFinish(): void {
    if (this.#running || BUSY_STATES.has(this.#snap.state) || this.#trace.job_id === null) return;
    const failure = this.#snap.state === 'failed' ? { error: this.#snap.failed?.error ?? this.#facts.error, code: this.#snap.failed?.code ?? null } : null;
    this.#report.jobResult(this.#trace.job_id, this.#snap.state, failure, this.#now());
    this.#report.log(failure ? 'warn' : 'info', 'operation finished', { state: this.#snap.state, code: failure?.code ?? null });
    this.#trace = NO_TRACE;
    this.#facts = { ...this.#facts, job_id: null };
    this.#publishStatus();
  }

  /** Connection notices from the executor become events. */
  notice(n: { kind: 'connected' } | { kind: 'disconnected'; reason: string }): void {
    if (n.kind === 'connected') this.#report.event({ type: 'HostConnected', host: this.name });
    else this.#report.event({ type: 'HostDisconnected', host: this.name, reason: n.reason });
  }

  #publishStatus(): void {
    this.#report.status(this.status);
  }
}
