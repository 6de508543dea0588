// Loads the ssh2 that shared/ssh2-choice.ts chose for this runtime: the patched
// copy in node_modules/ssh2 or the published one kept beside it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ssh2Types from 'ssh2';
import { chooseSsh2, type Ssh2Choice } from '../../common/ssh2-choice.js';

const require = createRequire(import.meta.url);

export type Ssh2Module = typeof Ssh2Types;

let loaded: { ssh2: Ssh2Module; choice: Ssh2Choice } | null = null;

/** Loads the chosen ssh2 once per thread. */
export function loadSsh2(): { ssh2: Ssh2Module; choice: Ssh2Choice } {
  if (loaded) return loaded;
  const choice = chooseSsh2(process.env.TENDHOST_SSH2_PATCH);
  const patchedDir = dirname(require.resolve('ssh2/package.json'));
  const dir = choice.patched ? patchedDir : join(patchedDir, '..', '.tendhost', 'ssh2-unpatched');
  let ssh2: Ssh2Module;
  try {
    ssh2 = require(dir) as Ssh2Module;
  } catch (err) {
    throw new Error(`cannot load ${choice.patched ? 'the patched' : 'the unpatched'} ssh2 from ${dir} (${choice.why}); run npm ci: ${(err as Error).message}`);
  }
  loaded = { ssh2, choice };
  return loaded;
}
