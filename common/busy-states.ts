// The states in which a host runs an operation and refuses another: one list
// for the machine, the actor, the front and the dashboard. Plain data, so the
// browser bundle takes it without the schema library.
export const BUSY_STATE_NAMES = ['querying', 'updating', 'rebooting', 'verifying'] as const;
