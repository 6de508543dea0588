// The host actor's state machine as pure data and one pure function.
// `transition(snapshot, input)` returns the next snapshot and the effects the
// interpreter (actor.ts) must run; it does no I/O and reads no clock, so the
// whole table is testable on its own.
import type { ErrorCode } from './errors.js';
import { BUSY_STATES, type FailedContext, type HostState } from './schemas/host.js';

/** Every allowed edge, in one place. */
export const TRANSITIONS: Readonly<Record<HostState, readonly HostState[]>> = {
  idle: ['querying'],
  querying: ['idle', 'pending_updates', 'failed'],
  pending_updates: ['updating'],
  updating: ['idle', 'waiting_reboot', 'failed'],
  waiting_reboot: ['rebooting'],
  rebooting: ['idle', 'verifying', 'failed'],
  verifying: ['idle', 'failed'],
  failed: ['idle'],
};

export function canTransition(from: HostState, to: HostState): boolean {
  return TRANSITIONS[from].includes(to);
}

export type Intent = { kind: 'query' } | { kind: 'update'; dry_run: boolean };

export interface Snapshot {
  state: HostState;
  /** What the running operation was asked to do (null when at rest). */
  intent: Intent | null;
  failed: FailedContext | null;
  /** Retries so far; carried into the next failure's context. */
  retries: number;
}

export type MachineInput =
  | { type: 'UPDATE'; dry_run: boolean }
  | { type: 'QUERY' }
  | { type: 'REBOOT' }
  | { type: 'RETRY' }
  | { type: 'ACKNOWLEDGE' }
  | { type: 'QUERY_DONE'; pending: number }
  | { type: 'UPGRADE_DONE'; reboot_required: boolean; upgraded: number }
  | { type: 'REBOOT_DONE' }
  | { type: 'VERIFY_OK' }
  | { type: 'OP_FAILED'; code: ErrorCode; error: string; at: string }
  /** The operation's worker or the daemon died under it (fed by the front's recovery; a resting host stays where it is). */
  | { type: 'INTERRUPTED'; code: ErrorCode; error: string; at: string };

export type Effect =
  | { kind: 'query' }
  | { kind: 'upgrade'; dry_run: boolean }
  | { kind: 'reboot_if_allowed' }
  | { kind: 'reboot' }
  | { kind: 'verify' }
  | { kind: 'mark_updated' }
  /** Feed this input next, as part of the same operation. */
  | { kind: 'continue'; input: MachineInput };

/**
 * What a transition means for the host's update lifecycle, told by the
 * machine that decides it (the audit only writes these down): an update
 * starts when the machine takes on an update intent, finishes when the intent
 * ends (done, nothing to do, failed or interrupted), and a reboot is
 * triggered when the host leaves waiting_reboot for rebooting.
 */
export type Lifecycle =
  | { kind: 'update_started'; dry_run: boolean }
  | { kind: 'update_finished'; dry_run: boolean; result: 'ok' | ErrorCode; upgraded: number; reboot_required: boolean }
  | { kind: 'reboot_triggered' };

export type Outcome =
  | { ok: true; next: Snapshot; effects: Effect[]; changed: boolean; lifecycle: Lifecycle | null }
  | { ok: false; refused: ErrorCode; reason: string };

/** One step of the table, before its lifecycle fact is added. */
type Step = Exclude<Outcome, { ok: true }> | Omit<Extract<Outcome, { ok: true }>, 'lifecycle'>;

export const INITIAL: Snapshot = { state: 'idle', intent: null, failed: null, retries: 0 };

function to(s: Snapshot, state: HostState, patch: Partial<Snapshot>, effects: Effect[]): Step {
  if (s.state !== state && !canTransition(s.state, state)) {
    // A programming error, not a user error: the table and this function disagree.
    throw new Error(`illegal transition ${s.state} → ${state}`);
  }
  return { ok: true, next: { ...s, ...patch, state }, effects, changed: s.state !== state };
}

function refuse(s: Snapshot, what: string): Step {
  if (s.state === 'failed') {
    return { ok: false, refused: 'HOST_FAILED', reason: `cannot ${what}: host is failed (retry or acknowledge first)` };
  }
  if (BUSY_STATES.has(s.state)) return { ok: false, refused: 'HOST_BUSY', reason: `cannot ${what}: host is busy (${s.state})` };
  // At rest, but not where this makes sense (a reboot of an idle host, an update while waiting for a reboot).
  return { ok: false, refused: 'INVALID_HOST_STATE', reason: `cannot ${what}: host is ${s.state}` };
}

export function transition(s: Snapshot, input: MachineInput): Outcome {
  const o = step(s, input);
  return o.ok ? { ...o, lifecycle: lifecycleOf(s, input, o.next) } : o;
}

/** How an update ended, from the input that ended it. */
function updateEnd(input: MachineInput): { result: 'ok' | ErrorCode; upgraded: number; reboot_required: boolean } {
  if (input.type === 'OP_FAILED' || input.type === 'INTERRUPTED') return { result: input.code, upgraded: 0, reboot_required: false };
  if (input.type === 'UPGRADE_DONE') return { result: 'ok', upgraded: input.upgraded, reboot_required: input.reboot_required };
  return { result: 'ok', upgraded: 0, reboot_required: false }; // the query found nothing to do
}

function lifecycleOf(before: Snapshot, input: MachineInput, after: Snapshot): Lifecycle | null {
  const was = before.intent?.kind === 'update' ? before.intent : null;
  const now = after.intent?.kind === 'update' ? after.intent : null;
  if (!was && now) return { kind: 'update_started', dry_run: now.dry_run };
  if (was && !now) return { kind: 'update_finished', dry_run: was.dry_run, ...updateEnd(input) };
  if (before.state === 'waiting_reboot' && after.state === 'rebooting') return { kind: 'reboot_triggered' };
  return null;
}

function step(s: Snapshot, input: MachineInput): Step {
  switch (input.type) {
    case 'UPDATE': {
      const intent: Intent = { kind: 'update', dry_run: input.dry_run };
      if (s.state === 'idle') return to(s, 'querying', { intent }, [{ kind: 'query' }]);
      if (s.state === 'pending_updates') {
        return to(s, 'updating', { intent }, [{ kind: 'upgrade', dry_run: input.dry_run }]);
      }
      return refuse(s, 'update');
    }
    case 'QUERY':
      if (s.state === 'idle') return to(s, 'querying', { intent: { kind: 'query' } }, [{ kind: 'query' }]);
      return refuse(s, 'query');
    case 'QUERY_DONE': {
      if (s.state !== 'querying') return refuse(s, 'finish a query');
      if (input.pending === 0) return to(s, 'idle', { intent: null }, []);
      if (s.intent?.kind === 'update') {
        // Found work and were asked to do it: go straight on to updating.
        return to(s, 'pending_updates', {}, [
          { kind: 'continue', input: { type: 'UPDATE', dry_run: s.intent.dry_run } },
        ]);
      }
      return to(s, 'pending_updates', { intent: null }, []);
    }
    case 'UPGRADE_DONE': {
      if (s.state !== 'updating') return refuse(s, 'finish an upgrade');
      const dry = s.intent?.kind === 'update' && s.intent.dry_run;
      if (dry) return to(s, 'idle', { intent: null }, []);
      if (input.reboot_required) {
        return to(s, 'waiting_reboot', { intent: null }, [{ kind: 'reboot_if_allowed' }]);
      }
      return to(s, 'idle', { intent: null }, [{ kind: 'mark_updated' }]);
    }
    case 'REBOOT':
      if (s.state === 'waiting_reboot') return to(s, 'rebooting', {}, [{ kind: 'reboot' }]);
      return refuse(s, 'reboot');
    case 'REBOOT_DONE':
      if (s.state !== 'rebooting') return refuse(s, 'finish a reboot');
      return to(s, 'verifying', {}, [{ kind: 'verify' }]);
    case 'VERIFY_OK':
      if (s.state !== 'verifying') return refuse(s, 'finish verification');
      return to(s, 'idle', { intent: null }, [{ kind: 'mark_updated' }]);
    case 'OP_FAILED':
    case 'INTERRUPTED': {
      if (!canTransition(s.state, 'failed')) return refuse(s, 'fail');
      const failed: FailedContext = {
        previous_state: s.state,
        error: input.error,
        code: input.code,
        failed_at: input.at,
        retry_count: s.retries,
        acknowledged: false,
      };
      return to(s, 'failed', { intent: null, failed }, []);
    }
    case 'RETRY':
      if (s.state !== 'failed') return { ok: false, refused: 'HOST_NOT_FAILED', reason: `host is ${s.state}, not failed` };
      return to(s, 'idle', { failed: null, retries: s.retries + 1 }, []);
    case 'ACKNOWLEDGE':
      if (s.state !== 'failed' || !s.failed) {
        return { ok: false, refused: 'HOST_NOT_FAILED', reason: `host is ${s.state}, not failed` };
      }
      return { ok: true, next: { ...s, failed: { ...s.failed, acknowledged: true } }, effects: [], changed: false };
    default: {
      const never: never = input;
      throw new Error(`unhandled machine input ${JSON.stringify(never)}`);
    }
  }
}
