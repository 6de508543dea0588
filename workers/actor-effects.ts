// How the actor performs one effect of its machine through the host's
// operations, and which machine input the result becomes. The actor (actor.ts)
// owns the state and the order; this file only knows what each effect does.
import { asTendhostError } from '../common/errors.js';
import type { PortMessage, Trace } from '../common/thread-protocol.js';
import type { HostStatus } from '../common/schemas/host.js';
import type { UnstampedEvent } from '../common/schemas/events.js';
import { emptyUpdateResult } from '../common/schemas/packages.js';
import type { Effect, MachineInput, Snapshot } from '../common/host-machine.js';
import type { HostOperations } from './operations.js';

/** Everything the host's status reports besides the machine's state and failure. */
export type ActorFacts = Omit<HostStatus, 'state' | 'failed'>;

/** What an effect may read and change of its actor. */
export interface EffectTarget {
  readonly name: string;
  readonly operations: HostOperations;
  readonly trace: Trace;
  readonly intent: Snapshot['intent'];
  now(): Date;
  patchFacts(patch: Partial<ActorFacts>): void;
  event(body: UnstampedEvent): void;
  emit(msg: PortMessage): void;
  publishStatus(): void;
  /** REBOOT now, or null (no auto reboot, or later when the window opens). */
  rebootIfAllowed(): MachineInput | null;
}

type TimedOp = Extract<PortMessage, { kind: 'op_duration' }>['op'];

/** The effects that are host operations, whose durations are measured. */
function isTimed(kind: Effect['kind']): kind is TimedOp {
  return kind === 'query' || kind === 'upgrade' || kind === 'reboot' || kind === 'verify';
}

/** Performs the effect; host operations report their duration. A failure becomes OP_FAILED, never a throw. */
export async function performEffect(effect: Effect, t: EffectTarget): Promise<MachineInput | null> {
  const t0 = performance.now();
  const input = await performUntimed(effect, t);
  const kind = effect.kind;
  if (isTimed(kind)) {
    t.emit({ kind: 'op_duration', op: kind, seconds: (performance.now() - t0) / 1000, ok: input?.type !== 'OP_FAILED' });
  }
  return input;
}

async function performUntimed(effect: Effect, t: EffectTarget): Promise<MachineInput | null> {
  try {
    switch (effect.kind) {
      case 'continue':
        return effect.input;
      case 'query':
        return await query(t);
      case 'upgrade':
        return await upgrade(effect.dry_run, t);
      case 'reboot_if_allowed':
        return t.rebootIfAllowed();
      case 'reboot':
        await t.operations.reboot(t.trace);
        return { type: 'REBOOT_DONE' };
      case 'verify':
        await t.operations.verify(t.trace);
        return { type: 'VERIFY_OK' };
      case 'mark_updated':
        t.patchFacts({ last_updated: t.now().toISOString() });
        // A reboot the maintenance window started has no job to publish it at its end.
        t.publishStatus();
        return null;
      default: {
        const never: never = effect;
        throw new Error(`unhandled effect ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    const e = asTendhostError(err);
    if (effect.kind === 'upgrade') {
      t.event({ type: 'UpdateCompleted', host: t.name, result: emptyUpdateResult(effect.dry_run, { error: e.message, code: e.code }) });
    }
    return failed(t, e.code, e.message);
  }
}

async function query(t: EffectTarget): Promise<MachineInput> {
  // Only a real update refreshes package lists; a dry run looks at what the host already knows.
  const intent = t.intent;
  const q = await t.operations.query(t.trace, {
    refresh: intent?.kind === 'update' && !intent.dry_run,
    reuseForDryRun: intent?.kind === 'update' && intent.dry_run,
  });
  t.patchFacts({ pending_updates: q.pending.length, package_manager: q.package_manager });
  // A Compose registry that could not be asked leaves its services
  // unlisted: an update goes on to its upgrade even when nothing is listed.
  const goOn = intent?.kind === 'update' && q.unlisted;
  return { type: 'QUERY_DONE', pending: goOn ? Math.max(1, q.pending.length) : q.pending.length };
}

async function upgrade(dryRun: boolean, t: EffectTarget): Promise<MachineInput> {
  const result = await t.operations.upgrade(dryRun, t.trace, (pkg, progress) =>
    t.event({ type: 'UpdateProgress', host: t.name, package: pkg, progress }),
  );
  t.event({ type: 'UpdateCompleted', host: t.name, result });
  if (!result.success) return failed(t, result.error_code ?? 'PKG_COMMAND_FAILED', result.error ?? 'upgrade failed');
  if (!dryRun) t.patchFacts({ pending_updates: 0 });
  return { type: 'UPGRADE_DONE', reboot_required: result.reboot_required, upgraded: result.upgraded };
}

function failed(t: EffectTarget, code: string, message: string): MachineInput {
  t.patchFacts({ error: message });
  return { type: 'OP_FAILED', code: code as never, error: message, at: t.now().toISOString() };
}
