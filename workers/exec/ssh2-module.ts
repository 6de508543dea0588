// Which ssh2 the SSH executor uses: the patched one (patches/ssh2.mjs: raw
// keys through JWK, no OpenSSL PEM/DER coders in a handshake) or ssh2 exactly
// as published (kept by the install in node_modules/.tendhost/ssh2-unpatched).
// TENDHOST_SSH2_PATCH=on|off|auto (default auto). The patch works around
// OpenSSL 3.0's process-wide coder locks (Node 20, 22). On Node 24 (OpenSSL
// 3.5) it cannot run at all — Node refuses its X25519 JWK import ("Invalid JWK
// OKP key") — and ssh2 as published is already faster there than the patched
// one on Node 20 (bench/ssh2-patch.ts, README): `auto` is `off` from Node 24
// and `on` is refused there.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ssh2Types from 'ssh2';

const require = createRequire(import.meta.url);

export type Ssh2Module = typeof Ssh2Types;
export type Ssh2PatchSetting = 'on' | 'off' | 'auto';

/** From this Node major on, ssh2 runs as published (see the header). */
export const UNPATCHED_FROM_NODE_MAJOR = 24;

export interface Ssh2Choice {
  patched: boolean;
  setting: Ssh2PatchSetting;
  why: string;
}

/** Pure: the setting and the runtime → which ssh2. Throws on a value it does not know. */
export function chooseSsh2(setting: string | undefined, nodeVersion = process.versions.node): Ssh2Choice {
  const s = (setting ?? 'auto').trim() || 'auto';
  if (s !== 'on' && s !== 'off' && s !== 'auto') {
    throw new Error(`TENDHOST_SSH2_PATCH must be on, off or auto (got "${s}")`);
  }
  const major = Number(nodeVersion.split('.')[0]);
  if (s === 'on') {
    if (major >= UNPATCHED_FROM_NODE_MAJOR) {
      throw new Error(`TENDHOST_SSH2_PATCH=on cannot work on Node ${major}: it refuses the patch's X25519 JWK import (use auto or off)`);
    }
    return { patched: true, setting: s, why: 'TENDHOST_SSH2_PATCH=on' };
  }
  if (s === 'off') return { patched: false, setting: s, why: 'TENDHOST_SSH2_PATCH=off' };
  return major >= UNPATCHED_FROM_NODE_MAJOR
    ? { patched: false, setting: s, why: `Node ${major}: OpenSSL's coder locks are gone, ssh2 as published` }
    : { patched: true, setting: s, why: `Node ${major}: OpenSSL 3.0 coder locks, patched ssh2` };
}

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
