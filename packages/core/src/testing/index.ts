export { createFakeClock, type FakeClock, type FakeClockOptions } from './fake-clock.js';
export { createSeededRandom } from './seeded-random.js';
