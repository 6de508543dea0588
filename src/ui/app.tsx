// The page: status, summary, filters, the host table, and the side panels
// (host detail, job, jobs list, rollout form). Derived rows are recomputed
// once per frame with changes (store.tick) or when the view changes.
import { useMemo, useState } from 'preact/hooks';
import type { Store } from './store.js';
import { view } from './url-state.js';
import { Banner, StatusBadge } from './components/status-bar.js';
import { Summary } from './components/summary.js';
import { Filters } from './components/filters.js';
import { HostTable } from './components/host-table.js';
import { HostDetail } from './components/host-detail.js';
import { JobList } from './components/jobs.js';
import { JobView } from './components/job-view.js';
import { RolloutForm } from './components/rollout-form.js';
import { ConfirmDialog, Notice } from './components/confirm.js';

export function App({ store }: { store: Store }) {
  const tick = store.tick.value;
  const v = view.value;
  const [panel, setPanel] = useState<'jobs' | 'rollout'>('jobs');
  const model = store.stream.model;
  // Once per frame with changes or per view change; the deriver redoes only the hosts that changed.
  const d = useMemo(() => store.rows.update(model.hosts, v), [tick, v]);
  const ready = store.stream.ready;
  return (
    <>
      <header class="top">
        <h1>tendhost</h1>
        <StatusBadge store={store} />
        <nav aria-label="Panels">
          <button type="button" aria-pressed={panel === 'jobs'} onClick={() => setPanel('jobs')}>Jobs</button>
          <button type="button" aria-pressed={panel === 'rollout'} onClick={() => setPanel('rollout')}>Rollout…</button>
          <a href="/docs">API</a>
        </nav>
      </header>
      <Banner store={store} />
      <Notice />
      {!ready ? (
        <p class="boot">Waiting for the fleet snapshot…</p>
      ) : (
        <div class="layout">
          <main>
            <Summary d={d} history={store.history} />
            <Filters tags={store.rows.tags} groups={store.rows.groups} />
            <HostTable rows={d.rows} />
          </main>
          <div class="side">
            {v.job && <JobView store={store} id={v.job} />}
            {v.host && <HostDetail store={store} host={model.hosts.get(v.host)} />}
            {panel === 'jobs' ? (
              <section aria-label="Jobs">
                <h2>Jobs</h2>
                <JobList store={store} />
              </section>
            ) : (
              <RolloutForm store={store} hosts={model.hosts} />
            )}
          </div>
        </div>
      )}
      <ConfirmDialog />
    </>
  );
}
