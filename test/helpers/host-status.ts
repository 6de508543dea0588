// A HostStatus for tests that feed models and views without a daemon: an idle,
// never-touched host, with the fields a test cares about overridden.
import type { HostStatus } from '../../src/client/types.js';

export function hostStatus(name: string, over: Partial<HostStatus> = {}): HostStatus {
  return {
    name,
    addr: '127.0.0.1',
    state: 'idle',
    tags: [],
    groups: [],
    pending_updates: null,
    last_updated: null,
    error: null,
    failed: null,
    shard: 0,
    package_manager: null,
    compose: false,
    job_id: null,
    ...over,
  };
}
