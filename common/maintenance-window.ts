// Maintenance windows: "HH:MM"–"HH:MM" on some weekdays, in the daemon's
// local time. A window whose end is before its start runs over midnight and
// belongs to the day it starts on. Pure functions of a Date: callers pass
// their (injectable) clock's now.
import type { MaintenanceWindow } from './schemas/host.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function dayAllowed(w: MaintenanceWindow, day: number): boolean {
  return !w.days || w.days.length === 0 || w.days.includes(DAYS[day]);
}

export function isInWindow(w: MaintenanceWindow | null, now: Date): boolean {
  if (!w) return true;
  const start = minutes(w.start);
  const end = minutes(w.end);
  const t = now.getHours() * 60 + now.getMinutes();
  const today = now.getDay();
  if (start < end) return t >= start && t < end && dayAllowed(w, today);
  // Over midnight: the evening part is today's window, the morning part yesterday's.
  if (t >= start) return dayAllowed(w, today);
  if (t < end) return dayAllowed(w, (today + 6) % 7);
  return false;
}

/** Milliseconds until the window next opens (0 when open now); scans a week ahead. */
export function msUntilWindow(w: MaintenanceWindow | null, now: Date): number {
  if (isInWindow(w, now)) return 0;
  const probe = new Date(now.getTime());
  probe.setSeconds(0, 0);
  for (let i = 1; i <= 8 * 24 * 60; i++) {
    probe.setTime(probe.getTime() + 60_000);
    if (isInWindow(w, probe)) return probe.getTime() - now.getTime();
  }
  return Infinity;
}
