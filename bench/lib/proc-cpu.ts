// Reads a process's CPU time and memory from /proc, so a benchmark can charge
// the server (all of its threads) for exactly the work done between two reads,
// whatever else the shared machine is doing.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK printed "${text}"`);
    clockTicks = n;
  }
  return clockTicks;
}

/**
 * utime + stime of the whole process (every thread, so worker threads count
 * too), in microseconds. Resolution is one clock tick (10 ms at CLK_TCK=100),
 * which is why measurement windows are seconds long.
 */
export function processCpuMicros(pid: number): number {
  return cpuMicrosOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), `/proc/${pid}/stat`);
}

/** utime + stime, in microseconds, from the text of a /proc stat file (a process's or a thread's). */
function cpuMicrosOfStat(stat: string, file: string): number {
  // Field 2 (comm) is in parentheses and may contain spaces; count from after it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (field 14) is rest[11], stime rest[12].
  const ticks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot parse ${file}`);
  return (ticks * 1e6) / clockTicksPerSecond();
}

/** Current and peak resident set size in KiB (VmRSS, VmHWM). */
export function processMemoryKiB(pid: number): { rss_kib: number; peak_rss_kib: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rss_kib: field('VmRSS'), peak_rss_kib: field('VmHWM') };
}

/** Whether a shared object whose path contains `fragment` is mapped into the process. */
export function processHasMapped(pid: number, fragment: string): boolean {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').includes(fragment);
}

/** One thread of a process: its id, its name (comm) and its utime + stime in microseconds. */
export interface ThreadCpu {
  tid: number;
  name: string;
  micros: number;
}

/** Every thread of a process now. A thread that exits while being read is left out. */
export function threadsCpu(pid: number): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      const file = `/proc/${pid}/task/${entry}/stat`;
      const micros = cpuMicrosOfStat(readFileSync(file, 'utf8'), file);
      const name = readFileSync(`/proc/${pid}/task/${entry}/comm`, 'utf8').trim();
      out.push({ tid: Number(entry), name, micros });
    } catch {
      // the thread exited between readdir and read
    }
  }
  return out;
}
