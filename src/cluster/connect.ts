// One NATS connection for a cluster node, from `[cluster]`: servers, the one
// kind of credentials, a private CA. Until it first connects it retries a
// server that is not up, but a misconfiguration (connect-errors.ts: wrong CA,
// TLS mismatch, credentials refused) is a start-up error naming the key. Once
// connected it reconnects forever (a node outlives NATS restarts); whoever
// holds it decides what "unreachable" means.
import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { ClusterSettings } from '../../common/config-types.js';
import { checkCaFile, misconfiguration } from './connect-errors.js';

export type ClusterConnectSettings = Pick<ClusterSettings, 'servers' | 'auth' | 'tls_ca_file' | 'node_id'>;

export function connectionOptions(s: ClusterConnectSettings): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: s.servers,
    name: `tendhost ${s.node_id}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Otherwise every request (each event published, each status written)
    // captures two stack traces up front in case it fails: ≈ 10% of a node's
    // front thread in bench/cluster's query.
    noAsyncTraces: true,
  };
  switch (s.auth.kind) {
    case 'token':
      opts.token = s.auth.token;
      break;
    case 'user':
      opts.user = s.auth.user;
      opts.pass = s.auth.password;
      break;
    case 'nkey': {
      const seed = readFileSync(s.auth.seed_file, 'utf8').trim();
      opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
      break;
    }
    case 'none':
      break;
  }
  if (s.tls_ca_file) opts.tls = { caFile: s.tls_ca_file };
  return opts;
}

export interface FirstConnectOptions {
  /** The config file, named in a misconfiguration's message (default "tendhost.toml"). */
  configFile?: string;
  /** Between first-connect attempts while no server answers (default 500 ms). */
  retryMs?: number;
  /** Each failed attempt that will be retried (for the log). */
  onRetry?: (err: Error) => void;
}

/** Connect; retried while no server answers, refused at once (ConfigError) when [cluster] is wrong. */
export async function connectCluster(s: ClusterConnectSettings, o: FirstConnectOptions = {}): Promise<NatsConnection> {
  const ctx = { servers: s.servers, auth: s.auth, tls_ca_file: s.tls_ca_file, file: o.configFile ?? 'tendhost.toml' };
  checkCaFile(ctx);
  for (;;) {
    try {
      // One pass over the servers per attempt; the library's own first-connect
      // wait would retry a TLS or credentials failure forever.
      return await connect({ ...connectionOptions(s), waitOnFirstConnect: false });
    } catch (err) {
      const wrong = misconfiguration(err, ctx);
      if (wrong) throw wrong;
      o.onRetry?.(err as Error);
      await new Promise((r) => setTimeout(r, o.retryMs ?? 500));
    }
  }
}
