// The drivers a host gets, from what detection found and how it is
// configured: its system package manager first, then its Compose stacks.
import type { ResolvedHost } from '../../common/schemas/host.js';
import { AptDriver } from './apt.js';
import { ComposeDriver } from './compose.js';
import type { Detected } from './detect.js';
import { DnfDriver } from './dnf.js';
import type { PackageDriver } from './driver.js';

export function driversFor(detected: Detected, host: Pick<ResolvedHost, 'compose_paths' | 'docker'>): PackageDriver[] {
  const drivers: PackageDriver[] = [];
  switch (detected.system) {
    case 'apt':
      drivers.push(new AptDriver());
      break;
    case 'dnf':
    case 'yum':
      drivers.push(new DnfDriver(detected.system, { needsRestarting: detected.system === 'dnf' || detected.needsRestarting }));
      break;
    case null:
      break;
    default: {
      const never: never = detected.system;
      throw new Error(`unknown package manager ${String(never)}`);
    }
  }
  if (detected.compose && host.compose_paths.length > 0) {
    drivers.push(
      new ComposeDriver({
        paths: host.compose_paths,
        version: host.docker.compose_version ?? detected.composeVersion,
        pullBeforeUpdate: host.docker.pull_before_update,
      }),
    );
  }
  return drivers;
}
