// ssh2 keeps a parsed private key as a PEM string and hands that string to
// crypto.sign() on every authentication, so OpenSSL 3 decodes the PEM again
// for every connection: ~0.4 ms per signature on this machine against
// ~0.04 ms with a decoded KeyObject — the largest single cost of a handshake
// after the network. We hold keys for thousands of connections, so decode
// once: the PEM slot of ssh2's parsed key is swapped for a KeyObject, which
// crypto.sign() accepts in the same place (ssh2 only ever passes the slot to
// crypto.sign and compares it with null).
//
// The slot is a private symbol of ssh2's keyParser ('Private key PEM'); when
// a future ssh2 renames it, nothing is swapped and signing stays as it was.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

const PRIVATE_PEM_SLOT = 'Private key PEM';

/** The same key, signing with a KeyObject decoded once. Returns whether it was swapped. */
export function decodeOnce(key: ParsedKey): boolean {
  const slot = Object.getOwnPropertySymbols(key).find((s) => s.description === PRIVATE_PEM_SLOT);
  if (!slot) return false;
  const holder = key as unknown as Record<symbol, string | KeyObject | null>;
  const pem = holder[slot];
  if (typeof pem !== 'string') return false;
  try {
    holder[slot] = createPrivateKey(pem);
    return true;
  } catch {
    return false; // a key OpenSSL cannot decode on its own stays a PEM: ssh2's path is unchanged
  }
}
