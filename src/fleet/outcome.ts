// Which failures mean "could not reach the host" rather than "the update failed".
const UNREACHABLE = new Set([
  'SSH_CONNECTION_REFUSED',
  'SSH_UNREACHABLE',
  'SSH_TIMEOUT',
  'SSH_AUTH_FAILED',
  'SSH_DISCONNECTED',
]);

export function isUnreachable(code: string | null): boolean {
  return code !== null && UNREACHABLE.has(code);
}
