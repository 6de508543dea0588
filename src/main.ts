// Entry point: config → logger → daemon; signals; exit codes that say why
// the daemon ended (see src/exit-codes.ts and the README).
import type { Logger } from 'pino';
import { findConfigFile, loadConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';
import type { Config } from '../common/config-types.js';
import { createLogger } from './logger.js';
import { startDaemon, BindError, NoNativeHttpError, WorkerPoolError, StoreError, type RunningDaemon } from './daemon.js';
import { EXIT } from './exit-codes.js';
import { StartupStages } from './startup-stages.js';
import { limitHeapGrowth } from './heap-growth.js';

async function main(): Promise<void> {
  limitHeapGrowth();
  const stages = new StartupStages();
  stages.lap('boot');
  const config = readConfig(stages);
  const log = createLogger(config.daemon.log_level);
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(config, log, stages);
  } catch (err) {
    exitForStartFailure(err, config, log);
  }
  stopOnSignals(daemon, log);
  enableTestSwitches(daemon, log);
}

function readConfig(stages: StartupStages): Config {
  try {
    return loadConfig(findConfigFile(), process.env, (stage) => stages.lap(stage));
  } catch (err) {
    if (err instanceof ConfigError) {
      // Before the logger exists: one plain line on stderr, and exit 2.
      process.stderr.write(`tendhost: config error: ${err.message}\n`);
      process.exit(EXIT.CONFIG);
    }
    throw err;
  }
}

/** Each way start-up can fail has its own exit code (see src/exit-codes.ts). */
function exitForStartFailure(err: unknown, config: Config, log: Logger): never {
  if (err instanceof BindError) {
    log.fatal({ bind: `${config.daemon.host}:${config.daemon.port}` }, `cannot bind: ${err.message}`);
    process.exit(EXIT.BIND);
  }
  if (err instanceof WorkerPoolError) {
    log.fatal(err.message);
    process.exit(EXIT.WORKERS);
  }
  if (err instanceof NoNativeHttpError) {
    log.fatal(err.message);
    process.exit(EXIT.NO_NATIVE_HTTP);
  }
  if (err instanceof StoreError) {
    log.fatal(err.message);
    process.exit(EXIT.STATE);
  }
  if (err instanceof ConfigError) {
    log.fatal(`config error: ${err.message}`);
    process.exit(EXIT.CONFIG);
  }
  log.fatal({ err: (err as Error).message, stack: (err as Error).stack }, 'daemon failed to start');
  process.exit(EXIT.UNEXPECTED);
}

/** SIGTERM/SIGINT stop gracefully (a second one exits at once); SIGHUP reloads the config. */
function stopOnSignals(daemon: RunningDaemon, log: Logger): void {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(EXIT.OK);
    }
    signalled = true;
    log.info({ signal: sig }, 'shutting down');
    daemon
      .stop()
      .then(() => {
        log.info('stopped');
        process.exit(EXIT.OK);
      })
      .catch((err) => {
        log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(EXIT.UNEXPECTED);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading configuration');
    daemon.reload().catch((err: Error) => log.error({ err: err.message }, 'config reload failed; keeping the running configuration'));
  });
}

/** Test-only: lets tests kill or hang a worker thread on purpose, like a real bug would. */
function enableTestSwitches(daemon: RunningDaemon, log: Logger): void {
  const switches = (process.env.TENDHOST_TEST_SWITCHES ?? '').split(',');
  if (switches.includes('crash-worker')) {
    log.warn('test switch crash-worker is on: SIGUSR2 kills the worker of shard 0');
    process.on('SIGUSR2', () => void daemon.crashShard(0).catch(() => {}));
  } else if (switches.includes('freeze-worker')) {
    log.warn('test switch freeze-worker is on: SIGUSR2 hangs the worker of shard 0');
    process.on('SIGUSR2', () => void daemon.freezeShard(0).catch(() => {}));
  }
}

void main();
