// The stream's state, always visible: live / reconnecting / resyncing, the
// seq the page shows, and how far behind the stream it is.
import type { Store } from '../store.js';

const LABEL = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting', resyncing: 'resyncing', closed: 'disconnected' } as const;

export function StatusBadge({ store }: { store: Store }) {
  store.tick.value;
  const s = store.state.value;
  return (
    <div class={`badge badge-${s}`} role="status" aria-live="polite" data-testid="stream-state">
      <span class="dot" aria-hidden="true" />
      <span class="badge-label">{LABEL[s]}</span>
      <span class="muted"> · seq {store.stream.model.seq} · lag {store.lagMs.value} ms</span>
    </div>
  );
}

export function Banner({ store }: { store: Store }) {
  const s = store.state.value;
  if (s === 'live' || s === 'connecting') return null;
  const text =
    s === 'resyncing'
      ? 'The daemon could not replay what was missed: rebuilding from a fresh snapshot…'
      : s === 'reconnecting'
        ? `Connection lost — reconnecting. Showing the fleet as of seq ${store.stream.model.seq}.`
        : 'Disconnected from the daemon.';
  return (
    <div class="banner" role="alert" data-testid="banner">
      {text}
      {store.error.value && <span class="muted"> ({store.error.value})</span>}
    </div>
  );
}
