// The live display of one job on a terminal: overall and current-batch
// counts, the job's hosts that are busy (with the package an UpdateProgress
// named), the latest state changes; redrawn in place at most 10 times a
// second. Lines are cut to the terminal's width so the redraw (cursor up N
// lines) never miscounts wrapped lines.
import type { FleetModel, JobProgress } from '../client/fleet-model.js';
import type { StreamEvent } from '../client/types.js';
import type { StreamState } from '../client/fleet-stream.js';
import type { CliEnv } from './env.js';
import { clock } from './event-lines.js';

const REDRAW_MS = 100;
const BUSY_ROWS = 8;
const RECENT_ROWS = 6;
const BAR = 24;

type Counts = { completed: number; failed: number; unreachable: number; skipped: number };

export class ProgressView {
  #drawn = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #connection: StreamState = 'live';
  #batch = -1;
  #batchBase: Counts = { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  #lastReport: Counts = { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  readonly #packages = new Map<string, string>();
  readonly #recent: string[] = [];
  /** The job's hosts that had events, in that order: a job-start event names only a job's first 1,000. */
  readonly #touched = new Set<string>();

  constructor(
    private readonly env: CliEnv,
    private readonly model: FleetModel,
    private readonly jobId: string,
  ) {}

  event(e: StreamEvent): void {
    if ('host' in e) this.#touched.add(e.host);
    switch (e.type) {
      case 'HostStateChanged':
        this.#remember(`${clock(e.ts)} ${e.host}: ${e.from} -> ${e.to}`);
        if (e.to !== 'updating') this.#packages.delete(e.host);
        break;
      case 'UpdateProgress':
        this.#packages.set(e.host, `${e.package} ${e.progress}`);
        break;
      case 'HostDisconnected':
        this.#remember(`${clock(e.ts)} ${e.host}: disconnected (${e.reason})`);
        break;
      case 'FleetUpdateProgress':
        // Counts are cumulative: a batch's own are what changed since the previous batch's last report
        // (its first report already counts the hosts it skipped while starting).
        if (e.batch !== this.#batch) {
          this.#batchBase = this.#lastReport;
          this.#batch = e.batch;
        }
        this.#lastReport = pick(e);
        break;
      default:
        break;
    }
    this.#schedule();
  }

  connection(s: StreamState): void {
    this.#connection = s;
    this.#schedule();
  }

  /** Draw the last frame now and leave it on screen. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#draw();
  }

  #job(): JobProgress | undefined {
    return this.model.jobs.get(this.jobId);
  }

  #remember(line: string): void {
    this.#recent.push(line);
    if (this.#recent.length > RECENT_ROWS) this.#recent.shift();
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#draw();
    }, REDRAW_MS);
  }

  #draw(): void {
    const width = Math.max(20, this.env.columns - 1);
    const lines = this.frame().map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    let out = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[J` : '';
    out += lines.join('\n') + '\n';
    this.#drawn = lines.length;
    this.env.stdout.write(out);
  }

  /** The lines of one frame (exposed for the renderer's own tests). */
  frame(): string[] {
    const j = this.#job();
    const lines: string[] = [];
    const kind = j ? `${j.kind}${j.dry_run ? ' (dry run)' : ''}` : 'job';
    const conn = this.#connection === 'live' ? '' : `  [${this.#connection}…]`;
    lines.push(`job ${this.jobId} ${kind}: ${j?.state ?? 'running'}${conn}   (Ctrl-C stops following; the job keeps running)`);
    const total = j?.total ?? 0;
    const c = j ? pick(j) : { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
    const done = c.completed + c.failed + c.unreachable + c.skipped;
    lines.push(`overall  ${bar(done, total)} ${done}/${total}  ${countsLine(c)}  in progress ${j?.in_progress ?? 0}`);
    if (j?.kind === 'fleet_update' && this.#batch >= 0) {
      const b = { completed: c.completed - this.#batchBase.completed, failed: c.failed - this.#batchBase.failed, unreachable: c.unreachable - this.#batchBase.unreachable, skipped: c.skipped - this.#batchBase.skipped };
      lines.push(`${this.#batch === 0 ? 'canary ' : `batch ${this.#batch}`}  ${countsLine(b)}`);
    }
    const busy: string[] = [];
    for (const name of this.#touched) {
      const h = this.model.hosts.get(name);
      if (!h || h.job_id !== this.jobId) {
        // Done with this job (or gone): no longer looked at in each frame.
        if (h?.state === 'idle' || h?.state === 'failed' || !h) this.#touched.delete(name);
        continue;
      }
      const pkg = this.#packages.get(name);
      busy.push(`  ${name}  ${h.state}${pkg ? `  ${pkg}` : ''}`);
      if (busy.length > BUSY_ROWS) break;
    }
    lines.push(`working on ${busy.length > BUSY_ROWS ? `${BUSY_ROWS}+` : busy.length} host${busy.length === 1 ? '' : 's'}`);
    lines.push(...busy.slice(0, BUSY_ROWS));
    if (this.#recent.length) lines.push('recent', ...this.#recent.map((r) => `  ${r}`));
    return lines;
  }
}

function pick(c: Counts): Counts {
  return { completed: c.completed, failed: c.failed, unreachable: c.unreachable, skipped: c.skipped };
}

function countsLine(c: Counts): string {
  return `completed ${c.completed}  failed ${c.failed}  unreachable ${c.unreachable}  skipped ${c.skipped}`;
}

function bar(done: number, total: number): string {
  const n = total > 0 ? Math.round((BAR * Math.min(done, total)) / total) : 0;
  return `[${'#'.repeat(n)}${'.'.repeat(BAR - n)}]`;
}
