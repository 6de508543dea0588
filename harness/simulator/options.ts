// Simulator options: what the CLI flags and the programmatic API accept, with defaults.
import type { FaultName, SelectorSpec } from './faults.js';
import type { PersonaName, UserKind } from './host.js';

export interface SimulatorOptions {
  /** Number of hosts (default 100). */
  hosts?: number;
  /** Persona weights (default debian=70, fedora=20, compose=10). */
  mix?: Partial<Record<PersonaName, number>>;
  /** First host address; hosts count upward, skipping .0 and .255 (default 127.10.0.1). */
  baseAddr?: string;
  /** Port every host listens on (default 2222). 0 = an ephemeral port per host. */
  port?: number;
  /** All hosts on baseAddr, each on its own port (port+i, or ephemeral when port is 0). */
  singleAddr?: boolean;
  /** Host name prefix (default "sim-"): sim-00001, sim-00002, … */
  namePrefix?: string;
  /**
   * The number of this process's first host (default 1): one slice of a fleet
   * spread over several simulator processes (harness/simulator-proc.ts), its
   * names and addresses continuing where the previous slice ended.
   */
  first?: number;
  /** Digits in host names (default: 5, or more when the last number needs them); slices of one fleet share it. */
  nameWidth?: number;
  /** Faults per host: `{key: 'refused', selector: {kind: 'percent', percent: 2}}`, or strings "refused=2%". */
  faults?: Array<SelectorSpec<FaultName> | string>;
  /** Login users (default root everywhere): "deploy=10%", "deploy-nosudo=sim-00003". */
  users?: Array<SelectorSpec<UserKind> | string>;
  /** Pending package upgrades per host (default 5). */
  pending?: number;
  /** Share of hosts whose upgrade leaves a reboot requirement, 0..100 (default 100). */
  rebootRequiredPct?: number;
  /** Compose stacks per compose host (default 1), each with one outdated image. */
  composeStacks?: number;
  /** Delay before a `slow` host starts its SSH handshake (default 3000 ms). */
  slowMs?: number;
  /** How long a rebooting host refuses connections (default 2000 ms). */
  rebootDownMs?: number;
  /** A `changed-key` host shows the fleet key for this many connections, then the other key (default 0). */
  changedKeyAfter?: number;
  /** Client private key (OpenSSH format). Created (0600) if missing. Default: a temp file. */
  clientKeyPath?: string;
  /** Persist the fleet host key here (created if missing) so known_hosts survive restarts. */
  hostKeyPath?: string;
  /** Control HTTP port on 127.0.0.1 (default 0 = ephemeral; null = no control endpoint). */
  controlPort?: number | null;
  /** Seed for every random choice (default 1). */
  seed?: number;
  /** Diagnostics (default: none). */
  log?: (msg: string) => void;
}

export const DEFAULTS = {
  hosts: 100,
  mix: { debian: 70, fedora: 20, compose: 10 } as Record<PersonaName, number>,
  baseAddr: '127.10.0.1',
  port: 2222,
  namePrefix: 'sim-',
  pending: 5,
  rebootRequiredPct: 100,
  composeStacks: 1,
  slowMs: 3000,
  rebootDownMs: 2000,
  changedKeyAfter: 0,
  seed: 1,
} as const;
