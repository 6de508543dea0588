// Checks made once before anything starts, each failing with its own error
// class (main.ts maps it to an exit code): a native uWS build, a known ssh2
// choice; and the host-key policy warning an admin should see in the log.
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import { hostKeyPolicyWarning } from '../../common/host-key-policy.js';
import type { UwsBuild } from '../../common/schemas/http-build.js';
import { chooseSsh2 } from '../../common/ssh2-choice.js';
import { ConfigError } from '../config/errors.js';
import { loadUws } from '../http/uws.js';

/** No native uWS build loads and the fallback was not allowed. */
export class NoNativeHttpError extends Error {}

/** Returns the uWS build that will serve. */
export function preflight(config: Config, log: Logger): UwsBuild {
  const { build: uws, refused } = loadUws();
  if (uws.build !== 'native') {
    // Built for tens of thousands of hosts: the pure-JS server would not keep up, so it is opt-in.
    const why = `no native uWebSockets.js build loads on Node ${process.version} (ABI ${uws.abi}, ${process.platform}-${process.arch}): ${refused.join('; ')}`;
    if (!config.daemon.allow_slow_http) {
      throw new NoNativeHttpError(
        `${why}. Use Node 20, 22, 24 or 25 on glibc >= 2.38 (Debian 13, Ubuntu 24.04, RHEL 10), or Node 20 on older glibc; ` +
          'or set [daemon] allow_slow_http = true to serve on the slow pure-JS fallback',
      );
    }
    log.error({ uws }, `${why}; serving on the slow pure-JS fallback ([daemon] allow_slow_http = true). /health reports uws.build="fallback"; do not benchmark this process.`);
  }
  // Checked here so a bad value stops the start with one line, not in every worker.
  let ssh2Choice;
  try {
    ssh2Choice = chooseSsh2(process.env.TENDHOST_SSH2_PATCH);
  } catch (err) {
    throw new ConfigError('environment', null, (err as Error).message);
  }
  log.info({ ssh2_patched: ssh2Choice.patched }, `ssh2: ${ssh2Choice.why}`);
  const keyWarning = hostKeyPolicyWarning(config.workers.ssh.host_key_policy);
  if (keyWarning) log.warn({ host_key_policy: config.workers.ssh.host_key_policy }, keyWarning);
  return uws;
}
