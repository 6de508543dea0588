// pino JSON logs on stdout. Synchronous writes: a daemon that is killed must
// not lose its last lines, and request lines are off below `info` anyway.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../common/config-types.js';

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
