// The five things `top` can ask of the daemon for the selected host, each one
// REST call; the answer (or the daemon's error code) becomes one line of text.
import type { TendhostClient } from '../../client/http-client.js';
import { TendhostApiError } from '../../client/errors.js';
import type { JobAccepted } from '../../client/types.js';
import type { HostAction } from './view-state.js';

export async function runAction(client: TendhostClient, action: HostAction, host: string): Promise<string> {
  let accepted: JobAccepted;
  try {
    accepted = await call(client, action, host);
  } catch (err) {
    if (err instanceof TendhostApiError) return `${action} ${host}: ${err.code}: ${err.message}`;
    return `${action} ${host}: ${(err as Error).message}`;
  }
  return `${action} ${host}: accepted, job ${accepted.job_id}`;
}

function call(client: TendhostClient, action: HostAction, host: string): Promise<JobAccepted> {
  switch (action) {
    case 'update':
      return client.update(host);
    case 'dry-run':
      return client.update(host, { dry_run: true });
    case 'reboot':
      return client.reboot(host);
    case 'retry':
      return client.retry(host);
    case 'acknowledge':
      return client.acknowledge(host);
    default: {
      const never: never = action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}
