// uWS.js here comes from @trufflesuite/uws-js-unofficial, whose loader falls
// back *silently* (a console warning) to a pure-JS implementation on top of
// `ws` when the native binary does not load. Numbers from the fallback are
// meaningless, so every benchmark refuses to run on it.
import uWS from '@trufflesuite/uws-js-unofficial';

/** Path fragment of the native addon, as it appears in /proc/<pid>/maps. */
export const UWS_BINARY_FRAGMENT = `uws_${process.platform}_${process.arch}_`;

export function isNativeUws(): boolean {
  return String(uWS.App).includes('[native code]');
}

/** Throws with an actionable message when the pure-JS fallback is loaded. */
export function assertNativeUws(): void {
  if (!isNativeUws()) {
    throw new Error(
      `uWebSockets.js loaded its pure-JS fallback (no native binary for Node ${process.version}, ` +
        `ABI ${process.versions.modules}, ${process.platform}-${process.arch}); ` +
        'refusing to benchmark. Use Node 20 (ABI 115) on Linux x64, and do not force the package own pure-JS fallback switch on.',
    );
  }
}

export { uWS };
