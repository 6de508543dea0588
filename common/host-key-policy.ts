// The startup warning for an unchecked host-key policy. Pure (no ssh2): the
// front process logs it from the config alone, and the connection manager
// answers with the same text.
import type { HostKeyPolicy } from './config-types.js';

export function hostKeyPolicyWarning(policy: HostKeyPolicy): string | null {
  return policy === 'off'
    ? 'ssh host_key_policy is "off": host keys are not checked, connections can be intercepted'
    : null;
}
