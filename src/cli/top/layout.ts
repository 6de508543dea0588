// How the screen's rows are shared: the host table takes what the fixed
// panes (details, jobs, events) leave. Small terminals drop panes first.
export interface Layout {
  table: number;
  details: number;
  jobs: number;
  events: number;
}

/** Title, counts and the table header above; the footer line below. */
const CHROME = 4;

export function layout(height: number): Layout {
  const h = Math.max(CHROME + 1, height);
  // Each pane costs its lines plus one heading line.
  if (h >= 32) return fill(h, { details: 4, jobs: 3, events: 6 });
  if (h >= 22) return fill(h, { details: 4, jobs: 2, events: 3 });
  if (h >= 14) return fill(h, { details: 3, jobs: 0, events: 0 });
  return { table: h - CHROME, details: 0, jobs: 0, events: 0 };
}

function fill(h: number, panes: Omit<Layout, 'table'>): Layout {
  const used = CHROME + [panes.details, panes.jobs, panes.events].reduce((n, p) => n + (p > 0 ? p + 1 : 0), 0);
  return { table: h - used, ...panes };
}
