// Host-key checking for the SSH executor, apart from connection bookkeeping:
// a key is checked against known_hosts per `host_key_policy`, and a key that
// changed quarantines the host (recorded on its slot) until the operator
// accepts the new one.
import { TendhostError } from '../../common/errors.js';
import { KnownHostsFile, fingerprint, keyTypeOf } from './known-hosts.js';
import { describeHost } from './ssh-connection.js';
import type { HostSlot, SshSettings } from './ssh-conn.js';

export interface HostKeyQuarantine {
  /** Fingerprint on file (same key type as presented when there is one). */
  expected: string;
  presented: string;
}

export class HostKeyGuard {
  readonly #settings: SshSettings;
  readonly #knownHosts: KnownHostsFile;

  constructor(settings: SshSettings) {
    this.#settings = settings;
    this.#knownHosts = new KnownHostsFile(settings.known_hosts);
  }

  /** Key types on file for the host (offered first in the handshake); none when keys are not checked. */
  knownTypes(slot: HostSlot): string[] {
    if (this.#settings.host_key_policy === 'off') return [];
    return this.#knownHosts.knownTypes(slot.host.addr, slot.host.port);
  }

  /** The handshake's verifier for this host, or null when host keys are not checked. */
  verifierFor(slot: HostSlot): ((blob: Buffer) => TendhostError | null) | null {
    if (this.#settings.host_key_policy === 'off') return null;
    return (blob) => this.#verify(slot, blob);
  }

  /** Replace the known_hosts entry with the key `slot` presented and lift the quarantine of every host that shares it. */
  accept(slot: HostSlot, all: Iterable<HostSlot>): boolean {
    const q = slot.quarantine;
    if (!q) return false;
    this.#knownHosts.replace(slot.host.addr, slot.host.port, q.blob);
    // Hosts sharing this address and port were quarantined by the same key.
    for (const other of all) {
      if (other.host.addr === slot.host.addr && other.host.port === slot.host.port && other.quarantine?.blob.equals(q.blob)) {
        other.quarantine = null;
      }
    }
    return true;
  }

  mismatchError(slot: HostSlot): TendhostError {
    const q = slot.quarantine!;
    const { host } = slot;
    const expected = q.expected[0] ?? '';
    return new TendhostError(
      'SSH_HOST_KEY_MISMATCH',
      `${describeHost(host)}: host key changed: expected ${expected}, presented ${q.presented}; refusing to connect (possible man-in-the-middle) until the new key is accepted`,
      { host: host.name, addr: host.addr, port: host.port, expected_fingerprint: expected, presented_fingerprint: q.presented },
    );
  }

  #verify(slot: HostSlot, blob: Buffer): TendhostError | null {
    const { host } = slot;
    const check = this.#knownHosts.check(host.addr, host.port, blob);
    if (check.status === 'known') return null;
    const presented = fingerprint(blob);
    if (check.status === 'unknown') {
      if (this.#settings.host_key_policy === 'accept-new') {
        this.#knownHosts.add(host.addr, host.port, blob);
        return null;
      }
      return new TendhostError(
        'SSH_HOST_KEY_UNKNOWN',
        `${describeHost(host)}: host key ${keyTypeOf(blob)} ${presented} is not in ${this.#settings.known_hosts} and host_key_policy is "strict"; add it (ssh-keyscan -p ${host.port} ${host.addr}) or use "accept-new"`,
        { host: host.name, addr: host.addr, port: host.port, presented_fingerprint: presented },
      );
    }
    slot.quarantine = { expected: check.expected, presented, blob };
    return this.mismatchError(slot);
  }
}
