// The edges of one whole update cycle with a reboot, as the host machine walks them.
export const FULL_CYCLE = [
  'idle->querying',
  'querying->pending_updates',
  'pending_updates->updating',
  'updating->waiting_reboot',
  'waiting_reboot->rebooting',
  'rebooting->verifying',
  'verifying->idle',
];
