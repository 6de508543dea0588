// The pure transition table: every allowed edge, and refusals.
import t from 'tap';
import { INITIAL, TRANSITIONS, canTransition, transition, type Lifecycle, type MachineInput, type Snapshot } from '../common/host-machine.js';
import { HOST_STATES } from '../common/schemas/host.js';
import { COMMAND_ERRORS } from '../common/thread-protocol.js';

const at = '2026-01-01T00:00:00.000Z';
const snap = (state: Snapshot['state'], extra: Partial<Snapshot> = {}): Snapshot => ({ ...INITIAL, state, ...extra });

t.test('the table has exactly the allowed edges of the design', async (t) => {
  const edges = HOST_STATES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
  t.same(edges, [
    'failed->idle',
    'idle->querying',
    'pending_updates->updating',
    'querying->failed',
    'querying->idle',
    'querying->pending_updates',
    'rebooting->failed',
    'rebooting->idle',
    'rebooting->verifying',
    'updating->failed',
    'updating->idle',
    'updating->waiting_reboot',
    'verifying->failed',
    'verifying->idle',
    'waiting_reboot->rebooting',
  ]);
  t.notOk(canTransition('idle', 'updating'));
  t.notOk(canTransition('waiting_reboot', 'failed'));
  t.notOk(canTransition('failed', 'querying'));
});

t.test('update from idle: query, then straight on to updating when something is pending', async (t) => {
  let o = transition(INITIAL, { type: 'UPDATE', dry_run: false });
  t.ok(o.ok);
  if (!o.ok) return;
  t.equal(o.next.state, 'querying');
  t.same(o.effects, [{ kind: 'query' }]);
  o = transition(o.next, { type: 'QUERY_DONE', pending: 3 });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'pending_updates');
  t.same(o.effects, [{ kind: 'continue', input: { type: 'UPDATE', dry_run: false } }]);
  o = transition(o.next, { type: 'UPDATE', dry_run: false });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'updating');
  t.same(o.effects, [{ kind: 'upgrade', dry_run: false }]);
  const noReboot = transition(o.next, { type: 'UPGRADE_DONE', reboot_required: false, upgraded: 3 });
  if (!noReboot.ok) return t.fail('refused');
  t.equal(noReboot.next.state, 'idle');
  t.same(noReboot.effects, [{ kind: 'mark_updated' }]);
  const reboot = transition(o.next, { type: 'UPGRADE_DONE', reboot_required: true, upgraded: 3 });
  if (!reboot.ok) return t.fail('refused');
  t.equal(reboot.next.state, 'waiting_reboot');
  t.same(reboot.effects, [{ kind: 'reboot_if_allowed' }]);
});

t.test('a dry run never marks the host updated and never reboots', async (t) => {
  const o = transition(snap('updating', { intent: { kind: 'update', dry_run: true } }), { type: 'UPGRADE_DONE', reboot_required: true, upgraded: 3 });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'idle');
  t.same(o.effects, []);
});

t.test('nothing pending: querying → idle', async (t) => {
  const o = transition(snap('querying', { intent: { kind: 'update', dry_run: false } }), { type: 'QUERY_DONE', pending: 0 });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'idle');
});

t.test('a query alone rests in pending_updates', async (t) => {
  const o = transition(snap('querying', { intent: { kind: 'query' } }), { type: 'QUERY_DONE', pending: 2 });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'pending_updates');
  t.same(o.effects, []);
});

t.test('reboot → verify → idle', async (t) => {
  let o = transition(snap('waiting_reboot'), { type: 'REBOOT' });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'rebooting');
  o = transition(o.next, { type: 'REBOOT_DONE' });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'verifying');
  o = transition(o.next, { type: 'VERIFY_OK' });
  if (!o.ok) return t.fail('refused');
  t.equal(o.next.state, 'idle');
  t.same(o.effects, [{ kind: 'mark_updated' }]);
});

t.test('failures keep their context; retry counts; acknowledge stays failed', async (t) => {
  for (const from of ['querying', 'updating', 'rebooting', 'verifying'] as const) {
    const o = transition(snap(from, { retries: 2 }), { type: 'OP_FAILED', code: 'PACKAGE_MANAGER_LOCKED', error: 'locked', at });
    if (!o.ok) return t.fail('refused');
    t.equal(o.next.state, 'failed');
    t.same(o.next.failed, { previous_state: from, error: 'locked', code: 'PACKAGE_MANAGER_LOCKED', failed_at: at, retry_count: 2, acknowledged: false });
  }
  const failed = transition(snap('updating'), { type: 'OP_FAILED', code: 'PACKAGE_MANAGER_LOCKED', error: 'locked', at });
  if (!failed.ok) return t.fail('refused');
  const acked = transition(failed.next, { type: 'ACKNOWLEDGE' });
  if (!acked.ok) return t.fail('refused');
  t.equal(acked.next.state, 'failed');
  t.equal(acked.next.failed?.acknowledged, true);
  t.equal(acked.changed, false);
  const retried = transition(acked.next, { type: 'RETRY' });
  if (!retried.ok) return t.fail('refused');
  t.equal(retried.next.state, 'idle');
  t.equal(retried.next.failed, null);
  t.equal(retried.next.retries, 1);
});

t.test('refusals: busy hosts, failed hosts, wrong states', async (t) => {
  for (const state of ['querying', 'updating', 'rebooting', 'verifying'] as const) {
    const o = transition(snap(state), { type: 'UPDATE', dry_run: true });
    t.same(o.ok ? null : o.refused, 'HOST_BUSY', `update refused while ${state}`);
  }
  const waiting = transition(snap('waiting_reboot'), { type: 'UPDATE', dry_run: true });
  t.same(waiting.ok ? null : waiting.refused, 'INVALID_HOST_STATE', 'no update while a reboot is pending');
  const f = transition(snap('failed'), { type: 'UPDATE', dry_run: false });
  t.same(f.ok ? null : f.refused, 'HOST_FAILED');
  const r = transition(snap('idle'), { type: 'REBOOT' });
  t.same(r.ok ? null : r.refused, 'INVALID_HOST_STATE', 'an idle host has no reboot pending');
  const retry = transition(snap('idle'), { type: 'RETRY' });
  t.same(retry.ok ? null : retry.refused, 'HOST_NOT_FAILED');
  const ack = transition(snap('updating'), { type: 'ACKNOWLEDGE' });
  t.same(ack.ok ? null : ack.refused, 'HOST_NOT_FAILED');
  const fail = transition(snap('waiting_reboot'), { type: 'OP_FAILED', code: 'INTERNAL', error: 'x', at });
  t.notOk(fail.ok, 'waiting_reboot cannot fail (not an edge of the table)');
});

t.test('every refusal of an operator command is one the API documents for it (COMMAND_ERRORS)', async (t) => {
  const inputs = [
    ['update', { type: 'UPDATE', dry_run: false }],
    ['query', { type: 'QUERY' }],
    ['reboot', { type: 'REBOOT' }],
    ['retry', { type: 'RETRY' }],
    ['acknowledge', { type: 'ACKNOWLEDGE' }],
  ] as const;
  let refusals = 0;
  for (const state of HOST_STATES) {
    for (const [kind, input] of inputs) {
      const o = transition(snap(state), input);
      if (o.ok) continue;
      refusals++;
      t.ok((COMMAND_ERRORS[kind] as readonly string[]).includes(o.refused), `${kind} in ${state}: ${o.refused} is listed`);
    }
  }
  t.ok(refusals >= 20, `${refusals} refusals checked`);
});

/** The lifecycle facts of a run of inputs from `start`, in order (refused inputs tell nothing). */
function factsOf(start: Snapshot, inputs: MachineInput[]): Lifecycle[] {
  const out: Lifecycle[] = [];
  let s = start;
  for (const input of inputs) {
    const o = transition(s, input);
    if (!o.ok) throw new Error(`${input.type} refused in ${s.state}: ${o.reason}`);
    if (o.lifecycle) out.push(o.lifecycle);
    s = o.next;
  }
  return out;
}

t.test('lifecycle: an update starts when the machine takes it on and finishes once, however it ends', async (t) => {
  const done = (extra: object) => ({ kind: 'update_finished', dry_run: false, result: 'ok', upgraded: 0, reboot_required: false, ...extra });
  t.same(
    factsOf(INITIAL, [{ type: 'UPDATE', dry_run: false }, { type: 'QUERY_DONE', pending: 3 }, { type: 'UPDATE', dry_run: false }, { type: 'UPGRADE_DONE', reboot_required: true, upgraded: 3 }, { type: 'REBOOT' }, { type: 'REBOOT_DONE' }, { type: 'VERIFY_OK' }]),
    [{ kind: 'update_started', dry_run: false }, done({ upgraded: 3, reboot_required: true }), { kind: 'reboot_triggered' }],
    'upgrade, reboot, verify: started once (the continue is the same update), finished at the upgrade, reboot triggered',
  );
  t.same(factsOf(INITIAL, [{ type: 'UPDATE', dry_run: true }, { type: 'QUERY_DONE', pending: 0 }]), [{ kind: 'update_started', dry_run: true }, done({ dry_run: true })], 'nothing pending');
  t.same(
    factsOf(INITIAL, [{ type: 'UPDATE', dry_run: true }, { type: 'QUERY_DONE', pending: 2 }, { type: 'UPDATE', dry_run: true }, { type: 'UPGRADE_DONE', reboot_required: false, upgraded: 2 }]),
    [{ kind: 'update_started', dry_run: true }, done({ dry_run: true, upgraded: 2 })],
    'a dry run finishes with what it would upgrade',
  );
  t.same(factsOf(INITIAL, [{ type: 'UPDATE', dry_run: false }, { type: 'OP_FAILED', code: 'SSH_CONNECTION_REFUSED', error: 'refused', at }]), [{ kind: 'update_started', dry_run: false }, done({ result: 'SSH_CONNECTION_REFUSED' })], 'the query failed');
  t.same(
    factsOf(snap('updating', { intent: { kind: 'update', dry_run: false } }), [{ type: 'INTERRUPTED', code: 'WORKER_FAILED', error: 'worker died', at }]),
    [done({ result: 'WORKER_FAILED' })],
    'interrupted while upgrading',
  );
  // A query left the host in pending_updates; an update from there starts without querying again.
  t.same(
    factsOf(INITIAL, [{ type: 'QUERY' }, { type: 'QUERY_DONE', pending: 2 }, { type: 'UPDATE', dry_run: false }, { type: 'UPGRADE_DONE', reboot_required: false, upgraded: 2 }]),
    [{ kind: 'update_started', dry_run: false }, done({ upgraded: 2 })],
    'an update of a host a query left pending',
  );
});

t.test('lifecycle: queries, reboot failures, retries and acknowledgements are no update', async (t) => {
  t.same(factsOf(INITIAL, [{ type: 'QUERY' }, { type: 'QUERY_DONE', pending: 0 }]), [], 'a query');
  t.same(factsOf(snap('rebooting'), [{ type: 'OP_FAILED', code: 'REBOOT_TIMEOUT', error: 'never came back', at }, { type: 'ACKNOWLEDGE' }, { type: 'RETRY' }]), [], 'a failed reboot (its update had finished)');
  t.same(factsOf(snap('waiting_reboot'), [{ type: 'REBOOT' }]), [{ kind: 'reboot_triggered' }], 'a reboot the operator asked for');
});
