// max_failures / max_unreachable: a count ("3" or 3) or a percentage of the
// rollout's hosts ("10%"), like Ansible's max_fail_percentage. Crossed means
// strictly more than allowed.
export interface Threshold {
  kind: 'count' | 'percent';
  value: number;
  text: string;
}

export function parseThreshold(v: number | string): Threshold | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? { kind: 'count', value: v, text: String(v) } : null;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  if (m && Number(m[1]) <= 100) return { kind: 'percent', value: Number(m[1]), text: v.trim() };
  if (/^\d+$/.test(v.trim())) return { kind: 'count', value: Number(v), text: v.trim() };
  return null;
}

export function exceeds(count: number, total: number, t: Threshold): boolean {
  return t.kind === 'count' ? count > t.value : total > 0 && (count / total) * 100 > t.value;
}
