// Benchmarks use the daemon's own uWS loader (src/http/uws-native.ts via
// src/http/uws.ts): the same native build the daemon would pick for this
// Node ABI and libc. Numbers from the pure-JS fallback are meaningless, so
// every benchmark refuses to run on it.
import { loadUws } from '../../src/http/uws.js';

const loaded = loadUws();

/** The uWS module (native when one loads here). */
export const uWS = loaded.uws;

/** Which build and package serve, for benchmark reports. */
export const uwsBuild = loaded.build;

/** Path fragment of the native addon, as it appears in /proc/<pid>/maps. */
export const UWS_BINARY_FRAGMENT = `uws_${process.platform}_${process.arch}_`;

export function isNativeUws(): boolean {
  return loaded.build.build === 'native';
}

/** Throws with an actionable message when the pure-JS fallback is loaded. */
export function assertNativeUws(): void {
  if (!isNativeUws()) {
    throw new Error(
      `no native uWebSockets.js build loads on Node ${process.version} (ABI ${process.versions.modules}, ` +
        `${process.platform}-${process.arch}): ${loaded.refused.join('; ')}; refusing to benchmark. ` +
        'Use Node 20 (any glibc) or Node 22/24 on glibc >= 2.38.',
    );
  }
}
