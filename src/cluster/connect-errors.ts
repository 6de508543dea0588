// Which failures to reach NATS are the admin's to fix in [cluster] rather
// than a server that is not up yet: a CA that is not a certificate, a server
// certificate the CA does not vouch for (or that names another host), TLS
// asked of a server that does not speak it, credentials refused. Retrying
// those would never succeed, so the node refuses to start with a ConfigError
// naming the key (exit 2, like every other config error).
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { ClusterAuth } from '../../common/config-types.js';
import { ConfigError } from '../config/errors.js';

export interface MisconfigContext {
  servers: string[];
  auth: ClusterAuth;
  tls_ca_file: string | null;
  /** The config file, for the message. */
  file: string;
}

/** tls_ca_file must hold at least one PEM certificate (Node would silently ignore anything else). */
export function checkCaFile(c: MisconfigContext): void {
  if (!c.tls_ca_file) return;
  let pem: string;
  try {
    pem = readFileSync(c.tls_ca_file, 'utf8');
  } catch (err) {
    throw new ConfigError(c.file, 'cluster.tls_ca_file', `cannot read ${c.tls_ca_file}: ${(err as Error).message}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(c.file, 'cluster.tls_ca_file', `${c.tls_ca_file} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  }
}

const CREDENTIAL_KEY: Record<ClusterAuth['kind'], string> = { none: 'token', token: 'token', user: 'password', nkey: 'nkey_seed_file' };

/** The ConfigError a failed first connect means, or null when it is worth retrying (server down, network). */
export function misconfiguration(err: unknown, c: MisconfigContext): ConfigError | null {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const text = `${e?.message ?? ''} ${e?.cause?.message ?? ''}`;
  const servers = c.servers.join(', ');
  if (/^ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new ConfigError(c.file, 'cluster.servers', `names a host its NATS server's certificate does not (${e.message}); use a name or address the certificate lists`);
  }
  if (/^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_)/.test(code) || /certificate/i.test(text)) {
    return c.tls_ca_file
      ? new ConfigError(c.file, 'cluster.tls_ca_file', `${c.tls_ca_file} did not sign the certificate of the NATS server at ${servers} (${e.message}); set it to the CA that did`)
      : new ConfigError(c.file, 'cluster.tls_ca_file', `is not set and the system's CAs do not trust the certificate of the NATS server at ${servers} (${e.message}); set it to the CA that signed it`);
  }
  if (/does not support 'tls'|ERR_SSL|wrong version number/i.test(`${text} ${code}`)) {
    return new ConfigError(c.file, c.tls_ca_file ? 'cluster.tls_ca_file' : 'cluster.servers', `asks for TLS but the NATS server at ${servers} does not speak it (${e.message})`);
  }
  if (/authorization violation|authentication/i.test(text)) {
    const key = `cluster.${CREDENTIAL_KEY[c.auth.kind]}`;
    return new ConfigError(c.file, key, c.auth.kind === 'none' ? `is not set and the NATS server at ${servers} requires credentials (${e.message})` : `was refused by the NATS server at ${servers} (${e.message})`);
  }
  return null;
}
