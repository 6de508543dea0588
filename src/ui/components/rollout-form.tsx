// A fleet rollout (POST /fleet/update) with every option, and a preview of
// how many hosts its filter selects, computed with the daemon's own
// selection rule (src/fleet/fleet-filter.ts) before anything starts.
import { useState } from 'preact/hooks';
import type { FleetUpdateRequest, HostStatus } from '../../client/types.js';
import { rolloutSelector } from '../../fleet/fleet-filter.js';
import type { Store } from '../store.js';
import { setView } from '../url-state.js';
import { confirmAction } from './confirm.js';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
/** "3" → 3, "10%" → "10%", "" → undefined (the daemon's default). */
const threshold = (s: string): number | string | undefined => (s.trim() === '' ? undefined : s.trim().endsWith('%') ? s.trim() : Number(s));

const EMPTY_FORM = { tags: '', groups: '', exclude: '', batch: '10', delay: '0', canary: '0', maxFailures: '', maxUnreachable: '', dryRun: false, waitWindow: false };
type Form = typeof EMPTY_FORM;

/** The request the form stands for; empty fields are left to the daemon's defaults. */
function requestBody(f: Form): FleetUpdateRequest {
  const tags = list(f.tags);
  const groups = list(f.groups);
  const exclude = list(f.exclude);
  const body: FleetUpdateRequest = {
    batch_size: Number(f.batch) || 10,
    delay_ms: Number(f.delay) || 0,
    canary: Number(f.canary) || 0,
    dry_run: f.dryRun,
    wait_for_window: f.waitWindow,
    filter: {
      ...(tags.length ? { tags } : {}),
      ...(groups.length ? { groups } : {}),
      ...(exclude.length ? { exclude_hosts: exclude } : {}),
    },
  };
  const mf = threshold(f.maxFailures);
  const mu = threshold(f.maxUnreachable);
  if (mf !== undefined) body.max_failures = mf;
  if (mu !== undefined) body.max_unreachable = mu;
  return body;
}

function confirmRollout(store: Store, body: FleetUpdateRequest, count: number): void {
  confirmAction({
    title: `Start a ${body.dry_run ? 'dry-run ' : ''}rollout on ${count} hosts?`,
    action: 'Start rollout',
    body: `Batches of ${body.batch_size}${body.canary ? ` after a canary of ${body.canary}` : ''}${body.delay_ms ? `, ${body.delay_ms} ms apart` : ''}.`,
    run: async () => {
      const r = await store.call((c) => c.fleetUpdate(body));
      setView({ job: r.job_id });
    },
  });
}

export function RolloutForm({ store, hosts }: { store: Store; hosts: ReadonlyMap<string, HostStatus> }) {
  store.tick.value; // the preview follows the fleet (same Map, new contents)
  const [f, setF] = useState(EMPTY_FORM);
  const set = (k: keyof Form) => (e: Event) => {
    const t = e.currentTarget as HTMLInputElement;
    setF({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value });
  };
  const filter = { tags: list(f.tags), groups: list(f.groups), exclude_hosts: list(f.exclude) };
  const selected = rolloutSelector(filter);
  let count = 0;
  for (const h of hosts.values()) if (selected(h)) count++;
  // A threshold is a count or a percentage (the daemon's rule); anything else is said here, not sent.
  const bad = [f.maxFailures, f.maxUnreachable].some((x) => x.trim() !== '' && !/^(\d+|(100|\d{1,2})(\.\d+)?%)$/.test(x.trim()));
  const submit = (e: Event) => {
    e.preventDefault();
    if (!bad) confirmRollout(store, requestBody(f), count);
  };
  return (
    <form class="rollout" onSubmit={submit} aria-label="Fleet rollout">
      <h2>Fleet rollout</h2>
      <label>Tags (all, comma-separated)<input name="tags" value={f.tags} onInput={set('tags')} /></label>
      <label>Groups (any)<input name="groups" value={f.groups} onInput={set('groups')} /></label>
      <label>Exclude hosts<input name="exclude" value={f.exclude} onInput={set('exclude')} /></label>
      <label>Batch size<input name="batch" type="number" min="1" value={f.batch} onInput={set('batch')} /></label>
      <label>Delay between batches (ms)<input name="delay" type="number" min="0" value={f.delay} onInput={set('delay')} /></label>
      <label>Canary hosts<input name="canary" type="number" min="0" value={f.canary} onInput={set('canary')} /></label>
      <label>Stop after failures (n or %)<input name="max_failures" value={f.maxFailures} onInput={set('maxFailures')} /></label>
      <label>Stop after unreachable (n or %)<input name="max_unreachable" value={f.maxUnreachable} onInput={set('maxUnreachable')} /></label>
      <label class="check"><input name="dry_run" type="checkbox" checked={f.dryRun} onChange={set('dryRun')} /> Dry run</label>
      <label class="check"><input name="wait_for_window" type="checkbox" checked={f.waitWindow} onChange={set('waitWindow')} /> Wait for maintenance windows</label>
      {bad && <p class="error-text" role="alert">Stop thresholds are a count (3) or a percentage (10%).</p>}
      <p data-testid="rollout-preview"><strong>{count}</strong> hosts selected</p>
      <button type="submit" class="primary" disabled={count === 0 || bad}>Start rollout…</button>
    </form>
  );
}
