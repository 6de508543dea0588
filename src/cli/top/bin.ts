#!/usr/bin/env node
// `tendhost top` on its own: node dist/src/cli/top/bin.js [--url URL] [--token TOKEN] …
import { runTop } from './index.js';

const code = await runTop(process.argv.slice(2), {
  url: process.env.TENDHOST_URL ?? 'http://127.0.0.1:8080',
  token: process.env.TENDHOST_TOKEN,
  stdout: process.stdout,
  stdin: process.stdin,
  stderr: process.stderr,
});
process.exit(code);
