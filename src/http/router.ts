// Matches a method + path against the route table: a route and its params,
// or "no such path" (404), or "path exists, method does not" (405 + Allow).
import type { Method, Route } from './route.js';

interface Compiled {
  segments: Array<{ literal: string } | { param: string }>;
  byMethod: Map<string, Route>;
}

export type Match =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'not_found' }
  | { kind: 'method_not_allowed'; allow: string[] };

export class Router {
  readonly #patterns: Compiled[] = [];
  /** Patterns by segment count, in priority order. */
  readonly #bySize = new Map<number, Compiled[]>();
  readonly routes: Route[];

  constructor(routes: Route[]) {
    this.routes = routes;
    const byPath = new Map<string, Compiled>();
    for (const r of routes) {
      let c = byPath.get(r.path);
      if (!c) {
        c = {
          segments: r.path
            .split('/')
            .slice(1)
            .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s })),
          byMethod: new Map(),
        };
        byPath.set(r.path, c);
        this.#patterns.push(c);
      }
      if (c.byMethod.has(r.method)) throw new Error(`duplicate route ${r.method} ${r.path}`);
      c.byMethod.set(r.method, r);
    }
    // Literal segments win over params (`/hosts/tags` before `/hosts/:name`).
    this.#patterns.sort((a, b) => score(b) - score(a));
    for (const c of this.#patterns) {
      const list = this.#bySize.get(c.segments.length);
      if (list) list.push(c);
      else this.#bySize.set(c.segments.length, [c]);
    }
  }

  match(method: string, path: string): Match {
    const parts = path.split('/');
    parts.shift();
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // tolerate a trailing slash
    for (const c of this.#bySize.get(parts.length) ?? []) {
      if (!fits(c, parts)) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const seg = c.segments[i];
        if ('param' in seg) params[seg.param] = decode(parts[i]);
      }
      const route = c.byMethod.get(method) ?? (method === 'HEAD' ? c.byMethod.get('GET') : undefined);
      if (route) return { kind: 'found', route, params };
      return { kind: 'method_not_allowed', allow: [...c.byMethod.keys()] as Method[] };
    }
    return { kind: 'not_found' };
  }
}

function fits(c: Compiled, parts: string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const seg = c.segments[i];
    if ('literal' in seg ? seg.literal !== parts[i] : parts[i] === '') return false;
  }
  return true;
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function score(c: Compiled): number {
  return c.segments.reduce((n, s, i) => n + ('literal' in s ? 2 ** (16 - i) : 0), 0);
}
