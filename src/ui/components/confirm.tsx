// One confirmation dialog for every action: what will happen, to what, and
// the button that does it. The result (or the daemon's error) is shown after.
import { signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';

export interface Ask {
  title: string;
  body: string;
  action: string;
  run: () => Promise<unknown>;
}

const asking = signal<Ask | null>(null);
export const notice = signal<{ text: string; error: boolean } | null>(null);

export function confirmAction(a: Ask): void {
  asking.value = a;
}

export function ConfirmDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  const a = asking.value;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (a && !d.open) d.showModal();
    if (!a && d.open) d.close();
  }, [a]);
  const go = async () => {
    if (!a) return;
    asking.value = null;
    try {
      await a.run();
      notice.value = { text: `${a.action}: accepted`, error: false };
    } catch (err) {
      notice.value = { text: `${a.action} failed: ${(err as Error).message}`, error: true };
    }
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={() => (asking.value = null)}>
      {a && (
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void go(); }}>
          <h2 id="confirm-title">{a.title}</h2>
          <p>{a.body}</p>
          <div class="buttons">
            <button type="button" onClick={() => (asking.value = null)}>Cancel</button>
            <button type="submit" class="primary" autofocus>{a.action}</button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export function Notice() {
  const n = notice.value;
  if (!n) return null;
  return (
    <div class={n.error ? 'notice error' : 'notice'} role="status">
      <span>{n.text}</span>
      <button type="button" aria-label="Dismiss" onClick={() => (notice.value = null)}>×</button>
    </div>
  );
}
