// The contract every package-manager driver (apt, dnf/yum, Docker Compose)
// implements. Drivers are stateless apart from their construction settings:
// each call runs its commands through the executor it is handed, so the same
// driver works over SSH, locally, or against the simulator.
import type { PendingPackage, SkippedPackage } from '../../common/schemas/packages.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { Executor } from '../exec/types.js';

export type DriverName = 'apt' | 'dnf' | 'yum' | 'compose';

export interface DriverContext {
  /** Per-command timeout. */
  timeoutMs: number;
  /** Cap on a command's kept output; parse-critical output past it is an error. */
  maxOutputBytes: number;
  /** How long an upgrade waits for a package-manager lock held by another process (default 300 s). */
  lockTimeoutMs?: number;
  /** The host being worked on; only used to name it in error details. */
  host?: ResolvedHost;
}

/** Progress of one package (or Compose service) during an upgrade. */
export type ProgressFn = (pkg: string, progress: string) => void;

export interface UpgradeContext extends DriverContext {
  /** Report what would change without changing anything. */
  dryRun: boolean;
  onProgress: ProgressFn;
}

export interface UpgradeOutcome {
  upgraded: number;
  new: number;
  removed: number;
  /** What changed (or, in a dry run, what would change). */
  packages: PendingPackage[];
  /** Left alone, with the reason (Compose services that are built, pinned, or whose registry failed). */
  skipped?: SkippedPackage[];
}

export interface RebootCheck {
  required: boolean;
  /** Packages that asked for the reboot, when the tool says. */
  packages: string[];
}

export interface PackageDriver {
  readonly name: DriverName;
  /** Refresh the package lists (apt-get update); a no-op where listing refreshes by itself. */
  refresh(exec: Executor, ctx: DriverContext): Promise<void>;
  listPending(exec: Executor, ctx: DriverContext): Promise<PendingPackage[]>;
  /**
   * True when the last listPending could not check everything (a Compose
   * registry failed): an update goes on to its upgrade even with nothing listed.
   */
  readonly incomplete?: boolean;
  upgrade(exec: Executor, ctx: UpgradeContext): Promise<UpgradeOutcome>;
  rebootRequired(exec: Executor, ctx: DriverContext): Promise<RebootCheck>;
}
