// The audit action name of each state-changing route.
const ACTIONS: Record<string, string> = {
  'POST /hosts': 'host.register',
  'DELETE /hosts/:name': 'host.remove',
  'POST /hosts/:name/update': 'host.update',
  'POST /hosts/:name/reboot': 'host.reboot',
  'POST /hosts/:name/retry': 'host.retry',
  'POST /hosts/:name/acknowledge': 'host.acknowledge',
  'POST /hosts/:name/host-key/accept': 'host.key_accept',
  'POST /fleet/update': 'fleet.update',
  'POST /jobs/:id/cancel': 'job.cancel',
};

export function auditAction(method: string, path: string): string {
  return ACTIONS[`${method} ${path}`] ?? `${method.toLowerCase()} ${path}`;
}
