// The daemon's wall clock. Maintenance windows are decided against it, so
// tests can start the daemon at a chosen time: TENDHOST_FAKE_TIME (ISO 8601)
// makes the clock start there and run on at normal speed. Worker threads share
// the environment and therefore the same clock.
const fake = process.env.TENDHOST_FAKE_TIME ? Date.parse(process.env.TENDHOST_FAKE_TIME) : NaN;
const offset = Number.isFinite(fake) ? fake - Date.now() : 0;

export function now(): Date {
  return new Date(Date.now() + offset);
}
