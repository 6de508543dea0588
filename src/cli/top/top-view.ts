// The whole of `top` minus the terminal: the fleet model (kept by the stream
// client), the table's index, the event tail, the known running jobs and the
// operator's view state, turned into frames. The app feeds it events and keys;
// the unit tests and the benchmark drive it directly.
import type { FleetModel } from '../../client/fleet-model.js';
import type { StreamState } from '../../client/fleet-stream.js';
import type { Job, StreamEvent } from '../../client/types.js';
import { EventTail } from './event-tail.js';
import { HostIndex } from './host-index.js';
import { jobRows } from './jobs-view.js';
import type { Key } from './keys.js';
import { layout } from './layout.js';
import { renderFrame } from './render.js';
import { initialView, onKey, settle, type Effect, type ViewState } from './view-state.js';

export interface FrameOptions {
  width: number;
  height: number;
  stream: StreamState;
  ready: boolean;
  now?: Date;
  color?: boolean;
}

export class TopView {
  view: ViewState = initialView();
  readonly index = new HostIndex();
  readonly tail = new EventTail();
  /** Running jobs read once per connection (the stream only tells about jobs from then on). */
  readonly knownJobs = new Map<string, Job>();
  readonly #model: FleetModel;
  readonly #url: string;

  constructor(model: FleetModel, url: string) {
    this.#model = model;
    this.#url = url;
  }

  get model(): FleetModel {
    return this.#model;
  }

  /** Every batch the model applied, in order (the index updates only the hosts they name). */
  onEvents(batch: readonly StreamEvent[]): void {
    this.index.note(batch);
    this.tail.push(batch);
  }

  setKnownJobs(jobs: readonly Job[]): void {
    this.knownJobs.clear();
    for (const j of jobs) this.knownJobs.set(j.id, j);
  }

  /** Apply a key; `height` is the terminal's, the table's page size follows from it. */
  key(k: Key, height: number): Effect {
    // Keys typed faster than frames (one chunk: "/web⏎u") must act on what the
    // screen would show by then: a filter just applied moves the selection first.
    this.#refresh();
    const table = layout(height).table;
    const { view, effect } = onKey(settle(this.view, this.index.rows, table), k, this.index.rows, table);
    this.view = view;
    return effect;
  }

  /** Say something on the footer line (an action's result). */
  say(message: string): void {
    this.view = { ...this.view, message };
  }

  frame(o: FrameOptions): string[] {
    this.#refresh();
    const lay = layout(o.height);
    this.view = settle(this.view, this.index.rows, lay.table);
    return renderFrame({
      width: o.width,
      height: o.height,
      layout: lay,
      url: this.#url,
      stream: o.stream,
      ready: o.ready,
      index: this.index,
      hosts: this.#model.hosts,
      jobs: jobRows(this.#model, this.knownJobs, lay.jobs),
      tail: this.tail.lines,
      progressOf: (h) => this.tail.progressOf(h),
      view: this.view,
      now: o.now ?? new Date(),
      color: o.color ?? true,
    });
  }

  #refresh(): void {
    this.index.refresh(this.#model.hosts, this.#model.version, this.view.filterDraft ?? this.view.filter);
  }
}
