// The soak's tendhost.toml: the daemon table as written at start, then the
// simulated hosts minus a held-back few. Every churn step removes some hosts
// from the file and puts some held-back ones in, and the daemon is sent SIGHUP.
import { readFileSync, writeFileSync } from 'node:fs';

export interface FleetFile {
  /** Hosts the file lists now. */
  readonly present: ReadonlySet<string>;
  /** Rewrite the file with `count` hosts swapped out and `count` held-back ones in; returns the names. */
  churn(count: number): { added: string[]; removed: string[] };
}

/** `[[host]]` blocks of the simulator's fragment, by host name. */
function hostBlocks(toml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of toml.split(/^(?=\[\[host\]\]$)/m)) {
    const name = /^name = "([^"]+)"$/m.exec(block)?.[1];
    if (name && block.startsWith('[[host]]')) out.set(name, block.endsWith('\n') ? block : block + '\n');
  }
  return out;
}

/**
 * Takes the daemon's config file (daemon table + every simulated host) and
 * rewrites it without the `heldBack` share of the hosts, picked spread over the fleet.
 */
export function fleetFile(configFile: string, heldBack: number): FleetFile {
  const text = readFileSync(configFile, 'utf8');
  const at = text.search(/^\[\[host\]\]$/m);
  if (at < 0) throw new Error(`${configFile} lists no [[host]]`);
  const head = text.slice(0, at);
  const blocks = hostBlocks(text.slice(at));
  const names = [...blocks.keys()];
  const step = Math.max(1, Math.floor(names.length / Math.max(1, heldBack)));
  const held = new Set(names.filter((_, i) => i % step === step - 1).slice(0, heldBack));
  const present = new Set(names.filter((n) => !held.has(n)));
  let cursor = 0;
  const write = () => writeFileSync(configFile, head + names.filter((n) => present.has(n)).map((n) => blocks.get(n)!).join('\n'));
  write();
  return {
    present,
    churn(count) {
      // Out: every k-th present host from a moving cursor; in: the oldest held-back ones.
      const pres = names.filter((n) => present.has(n));
      const removed: string[] = [];
      for (let i = 0; i < count && pres.length > 0; i++) removed.push(pres[(cursor + i * 97) % pres.length]!);
      cursor += 13;
      const added = [...held].slice(0, count);
      for (const n of added) {
        held.delete(n);
        present.add(n);
      }
      for (const n of new Set(removed)) {
        present.delete(n);
        held.add(n);
      }
      write();
      return { added, removed: [...new Set(removed)] };
    },
  };
}
