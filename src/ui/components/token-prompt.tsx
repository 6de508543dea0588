// Asked when the daemon requires a token (or refused the one we had). The
// token is kept in sessionStorage: this tab only, gone when it closes.
import { useState } from 'preact/hooks';

export const TOKEN_KEY = 'tendhost.token';

export function TokenPrompt({ refused, onToken }: { refused: boolean; onToken: (t: string) => void }) {
  const [t, setT] = useState('');
  return (
    <main class="token">
      <form onSubmit={(e) => { e.preventDefault(); if (t.trim()) onToken(t.trim()); }}>
        <h1>tendhost</h1>
        <p>This daemon requires an API token.</p>
        {refused && <p class="error-text" role="alert">The daemon refused that token.</p>}
        <label>
          API token
          <input name="token" type="password" autocomplete="off" value={t} onInput={(e) => setT(e.currentTarget.value)} autofocus />
        </label>
        <button type="submit" class="primary">Connect</button>
      </form>
    </main>
  );
}
