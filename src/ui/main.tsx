// Entry: find out whether the daemon wants a token (one REST read), then open
// the stream and render. The same client library as the CLI does the talking.
import { render } from 'preact';
import { signal } from '@preact/signals';
import { TendhostApiError, TendhostClient } from '../client/index.js';
import { Store } from './store.js';
import { App } from './app.js';
import { TOKEN_KEY, TokenPrompt } from './components/token-prompt.js';
import { whenVisible } from './visibility.js';

const root = document.getElementById('app') as HTMLElement;
const store = signal<Store | null>(null);
const prompt = signal<{ refused: boolean } | null>(null);

async function connect(token: string | undefined): Promise<void> {
  const client = new TendhostClient({ url: location.origin, token });
  try {
    await whenVisible(); // a tab opened in the background asks nothing until it is looked at
    await client.listTags();
  } catch (err) {
    if (err instanceof TendhostApiError && err.status === 401) {
      prompt.value = { refused: token !== undefined };
      return;
    }
    // Unreachable now: the stream keeps trying and the banner says so.
  }
  prompt.value = null;
  const s = new Store(client);
  store.value?.stream.close();
  store.value = s;
  s.start();
}

function Root() {
  const p = prompt.value;
  const s = store.value;
  if (p || s?.needToken.value) {
    return (
      <TokenPrompt
        refused={p?.refused ?? true}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          s?.stream.close();
          store.value = null;
          void connect(t);
        }}
      />
    );
  }
  if (!s) return <p class="boot">Connecting…</p>;
  return <App store={s} />;
}

root.textContent = '';
render(<Root />, root);
void connect(sessionStorage.getItem(TOKEN_KEY) ?? undefined);
