// Fault injection: which hosts misbehave, and how. A fault is chosen per host
// either by name list (`auth=sim-00007,sim-00008`) or by share of the fleet
// (`refused=2%`, or an absolute count `refused=3`), and can be flipped at run
// time through the control endpoint (POST /fault).

export const FAULTS = [
  /** Nothing listens on the host's address: the kernel answers with RST (ECONNREFUSED). */
  'refused',
  /** TCP is accepted but the SSH identification/handshake starts only after --slow-ms. */
  'slow',
  /** Public-key authentication is rejected. */
  'auth',
  /** The host presents a different host key (after --changed-key-after connections). */
  'changed-key',
  /** Package-manager commands (apt-get, dnf, yum, docker) never answer. */
  'timeout',
  /** apt-get upgrade/update fail on the dpkg frontend lock; dnf waits for the lock holder. */
  'lock',
  /** The upgrade runs into a dpkg (or rpm transaction) error. */
  'upgrade-fail',
  /** After `reboot` the host never comes back during the run. */
  'reboot-never',
  /** After `reboot` the host comes back with the same boot id (the reboot "did not happen"). */
  'reboot-same-bootid',
  /** Package-manager commands cut the whole SSH connection mid-command (no exit status). */
  'drop',
  /** The upgrade stops on a full disk (apt: no space in /var/cache/apt/archives; dnf: transaction test). */
  'disk-full',
] as const;

export type FaultName = (typeof FAULTS)[number];

export function isFault(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

/** How a selector picks hosts: explicit names, a percentage, or a count. */
export type Selector =
  | { kind: 'names'; names: string[] }
  | { kind: 'percent'; percent: number }
  | { kind: 'count'; count: number };

export interface SelectorSpec<K extends string> {
  key: K;
  selector: Selector;
}

/**
 * Parses `key=sel` where sel is `2%`, `3` or `sim-00001,sim-00002`.
 * `isKey` says which keys are valid; the message names the flag.
 */
export function parseSelectorSpec<K extends string>(
  flag: string,
  spec: string,
  isKey: (k: string) => k is K,
): SelectorSpec<K> {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`${flag} expects key=selector, got "${spec}"`);
  const key = spec.slice(0, eq).trim();
  const sel = spec.slice(eq + 1).trim();
  if (!isKey(key)) throw new Error(`${flag}: unknown key "${key}"`);
  return { key, selector: parseSelector(flag, sel) };
}

export function parseSelector(flag: string, sel: string): Selector {
  if (/^\d+(\.\d+)?%$/.test(sel)) {
    const percent = Number(sel.slice(0, -1));
    if (percent > 100) throw new Error(`${flag}: percentage must be 0..100, got ${sel}`);
    return { kind: 'percent', percent };
  }
  if (/^\d+$/.test(sel)) return { kind: 'count', count: Number(sel) };
  const names = sel.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`${flag}: empty host list`);
  return { kind: 'names', names };
}

/**
 * Resolves a selector to host indexes. Percent/count picks are spread over the
 * fleet by a seeded shuffle so that runs with the same seed are identical.
 */
export function selectHosts(
  selector: Selector,
  names: readonly string[],
  rng: () => number,
): number[] {
  if (selector.kind === 'names') {
    const out: number[] = [];
    for (const n of selector.names) {
      const i = names.indexOf(n);
      if (i < 0) throw new Error(`unknown host "${n}" in selector`);
      out.push(i);
    }
    return out;
  }
  const count =
    selector.kind === 'count'
      ? Math.min(selector.count, names.length)
      : Math.round((selector.percent / 100) * names.length);
  const idx = names.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count).sort((a, b) => a - b);
}

/** mulberry32: small, fast, seeded. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
