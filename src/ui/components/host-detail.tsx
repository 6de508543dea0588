// One host: status and failure context, the last update's packages, the
// actions (each confirmed), inventory on request, its recent jobs and events.
// Everything from the host is rendered as text nodes, never as markup.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { HostStatus, Inventory, JobList } from '../../client/types.js';
import type { Store } from '../store.js';
import { STATE_LABEL } from '../states.js';
import { setView } from '../url-state.js';
import { confirmAction } from './confirm.js';
import { BUSY_STATE_NAMES } from '../../../common/busy-states.js';

const BUSY: ReadonlySet<string> = new Set(BUSY_STATE_NAMES);

export function HostDetail({ store, host }: { store: Store; host: HostStatus | undefined; }) {
  if (!host) return null;
  return <Detail key={host.name} store={store} h={host} />;
}

function Detail({ store, h }: { store: Store; h: HostStatus }) {
  // @preact/signals skips a component with hook state whose props did not change: subscribe to the frame tick.
  store.tick.value;
  const [inv, setInv] = useState<Inventory | null>(null);
  const [invError, setInvError] = useState<string | null>(null);
  const [jobs, setJobs] = useState<JobList | null>(null);
  const name = h.name;
  // The host's jobs: read when opened and again when the stream starts or ends one of them, not polled.
  useEffect(() => {
    store.read((c) => c.listJobs({ host: name, per_page: 10 })).then(setJobs, () => setJobs(null));
  }, [name, h.job_id, store.lastJob.get(name)]);
  const loadInventory = (refresh: boolean) => {
    setInvError(null);
    store.call((c) => c.inventory(name, { refresh })).then(setInv, (err: Error) => setInvError(err.message));
  };
  const f = h.failed;
  const result = store.lastResult.get(name);
  return (
    <aside class="detail" aria-labelledby="detail-title" data-testid="detail">
      <header>
        <h2 id="detail-title">{name}</h2>
        <button type="button" aria-label="Close host detail" onClick={() => setView({ host: null })}>×</button>
      </header>
      <dl>
        <dt>State</dt>
        <dd><span class={`pill st-${h.state}`} data-testid="detail-state">{STATE_LABEL[h.state]}</span></dd>
        <dt>Address</dt>
        <dd>{h.addr}</dd>
        <dt>Pending updates</dt>
        <dd>{h.pending_updates ?? 'not queried yet'}</dd>
        <dt>Package manager</dt>
        <dd>{h.package_manager ?? 'unknown'}{h.compose ? ' + Docker Compose' : ''}</dd>
        <dt>Last updated</dt>
        <dd>{h.last_updated ? new Date(h.last_updated).toLocaleString() : 'never'}</dd>
        <dt>Tags</dt>
        <dd data-testid="detail-tags">{h.tags.join(', ') || '–'}</dd>
        <dt>Groups</dt>
        <dd>{h.groups.join(', ') || '–'}</dd>
        {h.job_id && (
          <>
            <dt>Running job</dt>
            <dd><button type="button" class="link" onClick={() => setView({ job: h.job_id })}>{h.job_id}</button></dd>
          </>
        )}
      </dl>
      {h.error && !f && <p class="error-text">{h.error}</p>}
      {f && <FailureView f={f} />}
      <HostActions store={store} h={h} />
      {result && <LastResult result={result} />}
      <section aria-label="Inventory">
        <h3>Inventory</h3>
        <button type="button" onClick={() => loadInventory(inv !== null)}>{inv ? 'Refresh from the host' : 'Load inventory'}</button>
        {invError && <p class="error-text">{invError}</p>}
        {inv && <InventoryView inv={inv} />}
      </section>
      <RecentJobs jobs={jobs} />
      <RecentEvents store={store} name={name} />
    </aside>
  );
}

/** Why the host failed: the error, its code, what it was doing, when, how often retried. */
function FailureView({ f }: { f: NonNullable<HostStatus['failed']> }) {
  return (
    <section class="failure" aria-label="Failure">
      <h3>Failed {f.acknowledged ? '(acknowledged)' : '(not acknowledged)'}</h3>
      <p class="error-text" data-testid="detail-error">{f.error}</p>
      <dl>
        <dt>Code</dt>
        <dd>{f.code}</dd>
        <dt>While</dt>
        <dd>{STATE_LABEL[f.previous_state]}</dd>
        <dt>At</dt>
        <dd>{new Date(f.failed_at).toLocaleString()}</dd>
        <dt>Retries</dt>
        <dd>{f.retry_count}</dd>
      </dl>
    </section>
  );
}

/** The actions, each confirmed; those the host's state refuses are disabled. */
function HostActions({ store, h }: { store: Store; h: HostStatus }) {
  store.tick.value; // redrawn with every frame, like the detail
  const name = h.name;
  const f = h.failed;
  const act = (title: string, action: string, body: string, run: () => Promise<unknown>) => confirmAction({ title, action, body, run });
  const busy = BUSY.has(h.state);
  // The status does not say whether the new key was accepted already: the store remembers it until the host leaves failed.
  if (!f) store.keyAccepted.delete(name);
  const keyChanged = f?.code === 'SSH_HOST_KEY_MISMATCH' && !store.keyAccepted.has(name);
  return (
    <div class="actions" role="group" aria-label="Actions">
      <button type="button" disabled={busy || !!f} onClick={() => act(`Update ${name}?`, 'Update', `Install every pending update on ${name}${h.pending_updates ? ` (${h.pending_updates})` : ''}; it may reboot if its policy allows.`, () => store.call((c) => c.update(name)))}>Update</button>
      <button type="button" disabled={busy || !!f} onClick={() => act(`Dry run on ${name}?`, 'Dry run', `List what an update of ${name} would install, changing nothing.`, () => store.call((c) => c.update(name, { dry_run: true })))}>Dry run</button>
      <button type="button" disabled={busy} onClick={() => act(`Reboot ${name}?`, 'Reboot', `Reboot ${name} now and verify it comes back.`, () => store.call((c) => c.reboot(name)))}>Reboot</button>
      {f && <button type="button" onClick={() => act(`Retry ${name}?`, 'Retry', keyChanged || store.keyAccepted.has(name) ? `Connect to ${name} again (with the accepted key) and run the failed operation again.` : `Run the failed operation on ${name} again.`, () => store.call((c) => c.retry(name)))}>Retry</button>}
      {f && !f.acknowledged && <button type="button" onClick={() => act(`Acknowledge the failure of ${name}?`, 'Acknowledge', `Mark the failure of ${name} as seen; it stays failed until retried.`, () => store.call((c) => c.acknowledge(name)))}>Acknowledge</button>}
      {keyChanged && <button type="button" class="warn" onClick={() => act(`Accept the new host key of ${name}?`, 'Accept host key', `${name} presented a different SSH host key. Accept it only if you know why it changed (reinstall, new machine).`, async () => {
        await store.call((c) => c.acceptHostKey(name));
        store.keyAccepted.add(name);
        store.tick.value++;
      })}>Accept new host key</button>}
    </div>
  );
}

type UpdateResult = NonNullable<ReturnType<Store['lastResult']['get']>>;

/** The last update or dry run: its outcome and the packages it listed. */
function LastResult({ result }: { result: UpdateResult }) {
  return (
    <section aria-label="Last update result">
      <h3>Last {result.dry_run ? 'dry run' : 'update'}: {result.success ? 'ok' : 'failed'}</h3>
      {result.error && <p class="error-text">{result.error}</p>}
      <p class="muted">{result.packages.length} packages{result.reboot_required ? ' · reboot required' : ''}</p>
      <ul class="packages" data-testid="packages">
        {result.packages.slice(0, 200).map((p) => (
          <li key={p.name + p.new_version}>{p.name} <span class="muted">{p.current_version ?? ''} → {p.new_version}</span></li>
        ))}
      </ul>
    </section>
  );
}

function RecentJobs({ jobs }: { jobs: JobList | null }) {
  return (
    <section aria-label="Recent jobs">
      <h3>Recent jobs</h3>
      <ul class="plain">
        {(jobs?.data ?? []).map((j) => (
          <li key={j.id}>
            <button type="button" class="link" onClick={() => setView({ job: j.id })}>{j.kind}{j.dry_run ? ' (dry run)' : ''}</button> <span class="muted">{j.state} · {new Date(j.created_at).toLocaleTimeString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function RecentEvents({ store, name }: { store: Store; name: string }) {
  store.tick.value; // redrawn with every frame, like the detail
  const events = store.recent.filter((e) => 'host' in e && e.host === name).slice(-15).reverse();
  return (
    <section aria-label="Recent events">
      <h3>Recent events</h3>
      <ul class="plain events">
        {events.map((e) => (
          <li key={e.seq}>
            <span class="muted">{new Date(e.ts).toLocaleTimeString()}</span> {e.type}
            {e.type === 'HostStateChanged' ? `: ${STATE_LABEL[e.from]} → ${STATE_LABEL[e.to]}` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

function InventoryView({ inv }: { inv: Inventory }) {
  const rows: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(inv.system)) rows.push([k, String(v ?? '–')]);
  for (const [k, v] of Object.entries(inv.hardware)) if (typeof v !== 'object' || v === null) rows.push([k, String(v ?? '–')]);
  return (
    <div class="inventory">
      <p class="muted">collected {new Date(inv.collected_at).toLocaleString()} via {inv.source}</p>
      <dl>
        {rows.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      <details>
        <summary>{inv.packages.length} packages</summary>
        <ul class="packages">
          {inv.packages.slice(0, 500).map((p, i) => (
            <li key={i}>{Object.values(p).filter((x) => typeof x === 'string').join(' ')}</li>
          ))}
        </ul>
      </details>
      {inv.docker.containers.length > 0 && (
        <details>
          <summary>{inv.docker.containers.length} containers</summary>
          <ul class="packages">
            {inv.docker.containers.map((c, i) => (
              <li key={i}>{Object.values(c).filter((x) => typeof x === 'string').join(' · ')}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
