// The hosts a job-start event names. An event goes to every WebSocket client
// and, on a cluster, through NATS, whose messages are at most 1 MiB by
// default: a 100,000-host rollout's names (≈ 2 MB) would not fit, and one
// event that cannot be stored would hold up every event after it. So the list
// is bounded (1,000 names of at most 253 characters stay under 256 KB); `total`
// says how many hosts the job has, and GET /jobs/{id}/hosts lists them all.
import { Type } from 'typebox';

export const EVENT_HOSTS_MAX = 1000;

export const EventHostList = Type.Array(Type.String(), {
  maxItems: EVENT_HOSTS_MAX,
  description: `The job's first ${EVENT_HOSTS_MAX} hosts in selection order; \`total\` counts them all (GET /jobs/{id}/hosts lists every one)`,
});

/** The names an event carries for a job of these hosts. */
export function eventHostList(hosts: readonly string[]): string[] {
  return hosts.slice(0, EVENT_HOSTS_MAX);
}
