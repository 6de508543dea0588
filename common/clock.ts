// The daemon's wall clock. Maintenance windows are decided against it, so
// tests can start the daemon at a chosen time: TENDHOST_FAKE_TIME (ISO 8601)
// makes the clock start there and run on at normal speed. Worker threads share
// the environment and therefore the same clock.
const fake = process.env.TENDHOST_FAKE_TIME ? Date.parse(process.env.TENDHOST_FAKE_TIME) : NaN;
// The real time the fake clock started, fixed by the first thread to load this
// module (the front process); worker threads, started later, inherit it with
// their copy of the environment, so every thread reads the same fake time.
if (Number.isFinite(fake) && !process.env.TENDHOST_FAKE_TIME_STARTED_AT) {
  process.env.TENDHOST_FAKE_TIME_STARTED_AT = String(Date.now());
}
const offset = Number.isFinite(fake) ? fake - Number(process.env.TENDHOST_FAKE_TIME_STARTED_AT) : 0;

export function now(): Date {
  return new Date(Date.now() + offset);
}
