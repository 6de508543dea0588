// A rollout by batch × outcome: one row per batch (newest first, a page of
// them at a time so a 1,000-batch rollout stays a small table), the hosts of
// each result state in it. The counts are GET /jobs/{id}'s `batches`, read
// again whenever the stream says the job moved; a cell lists its hosts below.
import { useState } from 'preact/hooks';
import type { Job } from '../../client/types.js';

type Batch = NonNullable<Job['batches']>[number];
export const OUTCOMES = ['completed', 'failed', 'unreachable', 'skipped', 'running', 'pending'] as const;
export type Outcome = (typeof OUTCOMES)[number];
const PAGE = 10;
// Short headers so eight columns fit the side panel; the full word is the accessible name and the tooltip.
const SHORT: Record<Outcome, string> = { completed: 'ok', failed: 'fail', unreachable: 'unr', skipped: 'skip', running: 'run', pending: 'wait' };

export function BatchGrid({ batches, pick, picked }: { batches: Batch[]; pick: (batch: number, state: Outcome) => void; picked: string }) {
  const [n, setN] = useState(0);
  // Newest batch first; hosts in no batch (not started or skipped up front) last.
  const rows = [...batches].sort((a, b) => (a.batch === 0 ? 1 : b.batch === 0 ? -1 : b.batch - a.batch));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const p = Math.min(n, pages - 1);
  return (
    <div class="grid-wrap">
      <table class="results batches" data-testid="batch-grid" aria-label="Hosts per batch and outcome">
        <thead>
          <tr>
            <th scope="col">Batch</th>
            {OUTCOMES.map((o) => (
              <th scope="col" key={o} title={o} aria-label={o}>{SHORT[o]}</th>
            ))}
            <th scope="col" title="hosts in the batch" aria-label="hosts">all</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(p * PAGE, p * PAGE + PAGE).map((b) => (
            <tr key={b.batch} data-batch={b.batch}>
              <th scope="row">{b.batch === 0 ? 'none' : b.batch}</th>
              {OUTCOMES.map((o) => (
                <td key={o}>
                  {b[o] > 0 ? (
                    <button type="button" class={`cell r-${o}`} aria-pressed={picked === `${b.batch}:${o}`} aria-label={`batch ${b.batch || 'none'}, ${b[o]} ${o}`} onClick={() => pick(b.batch, o)}>
                      {b[o]}
                    </button>
                  ) : (
                    <span class="muted">0</span>
                  )}
                </td>
              ))}
              <td>{b.total}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages > 1 && (
        <nav class="pager" aria-label="Batch pages">
          <button type="button" disabled={p === 0} onClick={() => setN(p - 1)}>Newer</button>
          <span>{rows.length} batches</span>
          <button type="button" disabled={p >= pages - 1} onClick={() => setN(p + 1)}>Older</button>
        </nav>
      )}
    </div>
  );
}
