// Each host state's label and colour class: colour is never the only signal
// (the label is always shown next to it).
import type { HostState } from '../client/types.js';

export const STATES: readonly HostState[] = ['idle', 'querying', 'pending_updates', 'updating', 'waiting_reboot', 'rebooting', 'verifying', 'failed'];

export const STATE_LABEL: Record<HostState, string> = {
  idle: 'idle',
  querying: 'querying',
  pending_updates: 'pending updates',
  updating: 'updating',
  waiting_reboot: 'waiting reboot',
  rebooting: 'rebooting',
  verifying: 'verifying',
  failed: 'failed',
};

export function isHostState(s: string): s is HostState {
  return (STATES as readonly string[]).includes(s);
}
