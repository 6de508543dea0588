#!/usr/bin/env node
// The `tendhost` program (package.json bin, the `make install` launcher).
import { runCli } from './run.js';
import { processEnv } from './env.js';

const code = await runCli(process.argv.slice(2), processEnv());
process.exitCode = code;
// Open sockets or timers of a finished command must not keep the process alive.
if (process.argv[2] !== 'daemon') setImmediate(() => process.exit(code));
