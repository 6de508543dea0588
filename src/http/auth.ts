// Bearer tokens checked against `sha256:<hex>` hashes with a constant-time
// compare. Every configured hash is compared, so timing does not tell which
// (or whether any) token came close.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface TokenEntry {
  name: string;
  token_hash: string;
}

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

export class TokenAuth {
  readonly #entries: Array<{ name: string; digest: Buffer }>;

  constructor(tokens: TokenEntry[]) {
    this.#entries = tokens.map((t) => ({ name: t.name, digest: Buffer.from(t.token_hash.slice('sha256:'.length), 'hex') }));
  }

  /** The token's configured name, or null. */
  verify(token: string | null | undefined): string | null {
    if (!token) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: string | null = null;
    for (const e of this.#entries) {
      if (timingSafeEqual(digest, e.digest) && found === null) found = e.name;
    }
    return found;
  }
}

/** The token from `Authorization: Bearer`, a `bearer.<token>`/plain WebSocket subprotocol, or `?token=`. */
export function extractToken(headers: Record<string, string>, query?: URLSearchParams, allowProtocol = false): string | null {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : null;
  }
  if (allowProtocol && headers['sec-websocket-protocol']) {
    for (const p of headers['sec-websocket-protocol'].split(',')) {
      const v = p.trim();
      if (v.startsWith('bearer.')) return v.slice('bearer.'.length);
    }
  }
  return query?.get('token') ?? null;
}
