// What a host's `addr` may be: a DNS name (RFC 1123), an IPv4 or an IPv6
// address, and nothing else — it ends up in an SSH connect and in log lines,
// so "127.0.0.1;id" or a name with spaces is refused at the edge (API and
// config alike). Registered as the TypeBox format `host-address`.
import { isIP } from 'node:net';
import { Format } from 'typebox/format';
import { Type } from 'typebox';

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isHostAddress(value: string): boolean {
  if (isIP(value) !== 0) return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  // An all-digit last label is a malformed IPv4 address (999.1.1.1, 10.1), not a name.
  return !/^\d+$/.test(labels[labels.length - 1]);
}

Format.Set('host-address', isHostAddress);

export const HostAddress = Type.String({
  format: 'host-address',
  minLength: 1,
  maxLength: 253,
  description: 'A DNS name (RFC 1123), an IPv4 or an IPv6 address',
});
