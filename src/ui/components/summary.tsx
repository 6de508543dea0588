// Fleet at a glance: a stacked bar of hosts per state (colour and label),
// the numbers behind it, and a last-hour chart of completed updates and failures.
import type { Derived } from '../rows.js';
import { STATES, STATE_LABEL } from '../states.js';
import { setView, view } from '../url-state.js';
import { MINUTES, type History } from '../history.js';

export function Summary({ d, history }: { d: Derived; history: History }) {
  const total = d.matching || 1;
  const current = view.value.state;
  return (
    <section class="summary" aria-label="Fleet summary">
      <div class="bar" role="img" aria-label={STATES.map((s) => `${STATE_LABEL[s]} ${d.counts[s]}`).join(', ')}>
        {STATES.filter((s) => d.counts[s] > 0).map((s) => (
          <span key={s} class={`seg st-${s}`} style={{ width: `${(100 * d.counts[s]) / total}%` }} title={`${STATE_LABEL[s]}: ${d.counts[s]}`} />
        ))}
      </div>
      <ul class="counts" data-testid="counts">
        <li>
          <strong data-testid="count-total">{d.matching}</strong> hosts
        </li>
        {STATES.map((s) => (
          <li key={s}>
            <button type="button" class={`chip st-${s}${current === s ? ' on' : ''}`} aria-pressed={current === s} onClick={() => setView({ state: current === s ? null : s })}>
              <span class="swatch" aria-hidden="true" />
              {STATE_LABEL[s]} <strong data-testid={`count-${s}`}>{d.counts[s]}</strong>
            </button>
          </li>
        ))}
        <li>
          unacknowledged failures <strong data-testid="count-unacked">{d.unacknowledged}</strong>
        </li>
        <li>
          pending updates <strong>{d.pendingUpdates}</strong>
        </li>
        <li>
          need a reboot <strong>{d.needReboot}</strong>
        </li>
      </ul>
      <HourChart history={history} />
    </section>
  );
}

function HourChart({ history }: { history: History }) {
  const max = Math.max(1, ...history.completed.map((c, i) => c + history.failed[i]));
  const w = 4;
  const h = 40;
  const done = history.completed.reduce((a, b) => a + b, 0);
  const failed = history.failed.reduce((a, b) => a + b, 0);
  return (
    <figure class="chart">
      <svg width={MINUTES * w} height={h} role="img" aria-label={`last hour: ${done} updates completed, ${failed} failures`}>
        {history.completed.map((c, i) => {
          const f = history.failed[i];
          const ch = (c / max) * h;
          const fh = (f / max) * h;
          return (
            <g key={i}>
              {c > 0 && <rect class="c-ok" x={i * w} y={h - ch} width={w - 1} height={ch} />}
              {f > 0 && <rect class="c-failed" x={i * w} y={h - ch - fh} width={w - 1} height={fh} />}
            </g>
          );
        })}
      </svg>
      <figcaption>
        last hour: <span class="c-ok-text">{done} updated</span> · <span class="c-failed-text">{failed} failed</span>
      </figcaption>
    </figure>
  );
}
