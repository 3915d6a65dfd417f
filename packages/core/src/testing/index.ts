export { createFakeClock, type FakeClock, type FakeClockOptions } from './fake-clock.js';
export { createFakeSleep, type FakeSleep } from './fake-sleep.js';
export { createSeededRandom } from './seeded-random.js';
