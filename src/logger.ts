// pino JSON logs on stdout, through pino's default stream: asynchronous
// writes (sonic-boom, no buffering threshold, so each line is handed to the
// kernel at once) flushed synchronously when the process exits; only a
// SIGKILL can lose the line being written. Request lines are off below `info`.
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
