// Which ssh2 the SSH executor uses: the patched one (patches/ssh2.mjs: raw
// keys through JWK, no OpenSSL PEM/DER coders in a handshake) or ssh2 exactly
// as published (kept by the install in node_modules/.tendhost/ssh2-unpatched).
// TENDHOST_SSH2_PATCH=on|off|auto (default auto). The patch works around
// OpenSSL 3.0's process-wide coder locks (Node 20, 22). On Node 24 (OpenSSL
// 3.5) it cannot run at all — Node refuses its X25519 JWK import ("Invalid JWK
// OKP key") — and ssh2 as published is already faster there than the patched
// one on Node 20 (bench/ssh2-patch.ts, README): `auto` is `off` from Node 24
// and `on` is refused there.

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
