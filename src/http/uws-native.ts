// Finds a native uWebSockets.js build for the running Node and libc.
// Two packages carry binaries: @btc-vision/uwebsockets.js (ABIs 115/127/137/141
// = Node 20/22/24/25, linked against glibc ≥ 2.38: Debian 13, Ubuntu 24.04,
// RHEL 10) and @trufflesuite/uws-js-unofficial (ABIs 93/108/115, older glibc
// too, so Node 20 on Debian 12). Each binary is loaded directly: the
// trufflesuite entry point would otherwise swap in its pure-JS shim with only
// a console warning. Only src/http/uws.ts imports this file.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';
import type { UwsBuild } from '../../common/schemas/http-build.js';
import { loadFallback } from './uws-fallback.js';

const require = createRequire(import.meta.url);

export type UwsModule = typeof UwsTypes;

interface Candidate {
  package: string;
  /** The binary's path inside the package for this platform, arch and ABI. */
  binary(tag: string): string;
}

/** Tried in order; the first whose binary loads serves. */
const NATIVE: readonly Candidate[] = [
  { package: '@btc-vision/uwebsockets.js', binary: (tag) => `uws_${tag}.node` },
  { package: '@trufflesuite/uws-js-unofficial', binary: (tag) => `binaries/uws_${tag}.node` },
];
const FALLBACK = '@trufflesuite/uws-js-unofficial';

export interface LoadedUws {
  uws: UwsModule;
  build: UwsBuild;
  /** Why each native candidate did not load (empty when the first one did). */
  refused: string[];
}

/** The package's folder: up from its entry point (its `exports` may hide package.json). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === name) return dir;
    } catch {
      // no package.json at this level: keep going up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`${name}: package.json not found above its entry point`);
    dir = up;
  }
}

function versionOf(dir: string): string {
  return String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version);
}

/** The first line of a loader error: dlopen's own words (e.g. "GLIBC_2.38 not found"). */
function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find module/.test(msg)) return 'no binary for this platform and ABI';
  return msg.split('\n')[0].slice(0, 300);
}

/**
 * Loads the first native build that works here, else the pure-JS fallback
 * (the caller decides whether serving on it is allowed). `skipNative` is the
 * test switch that makes a machine with binaries behave like one without.
 */
export function loadUwsBuild(skipNative = false): LoadedUws {
  const abi = process.versions.modules;
  const tag = `${process.platform}_${process.arch}_${abi}`;
  const refused: string[] = [];
  for (const c of NATIVE) {
    if (skipNative) {
      refused.push(`${c.package}: skipped (test switch no-native-uws)`);
      continue;
    }
    let dir: string;
    try {
      dir = packageDir(c.package);
    } catch {
      refused.push(`${c.package}: not installed`);
      continue;
    }
    try {
      const uws = require(join(dir, c.binary(tag))) as UwsModule;
      return { uws, build: { build: 'native', package: c.package, version: versionOf(dir), abi }, refused };
    } catch (err) {
      refused.push(`${c.package}: ${reason(err)}`);
    }
  }
  const dir = packageDir(FALLBACK);
  return { uws: loadFallback(dir), build: { build: 'fallback', package: FALLBACK, version: versionOf(dir), abi }, refused };
}

let loaded: LoadedUws | null = null;

/**
 * The uWS module serving this process, loaded once: a native build when one
 * loads here, else the pure-JS fallback. The test switch
 * TENDHOST_TEST_SWITCHES=no-native-uws pretends no binary loads.
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const skipNative = (process.env.TENDHOST_TEST_SWITCHES ?? '').split(',').includes('no-native-uws');
  loaded = loadUwsBuild(skipNative);
  return loaded;
}
