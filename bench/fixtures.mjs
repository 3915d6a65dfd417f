// Realistic events for the benches: a workforce-telemetry mix, ~240 bytes each.
import { createEnvelopeFactory } from '@fieldline/core';

const apps = [
  'org.mozilla.firefox',
  'com.microsoft.teams',
  'org.libreoffice.calc',
  'code',
  'slack',
];

/** `count` valid envelopes of the built-in activity types. */
export function makeEvents(count) {
  const factory = createEnvelopeFactory({ startSeq: 1 });
  const events = [];
  for (let i = 0; i < count; i++) {
    const app = apps[i % apps.length];
    switch (i % 4) {
      case 0:
        events.push(
          factory.create('activity.window.focused', 'activity', {
            app,
            pid: 1000 + i,
            previousApp: apps[(i + 1) % apps.length],
            previousFocusMs: 1234 + i,
          }),
        );
        break;
      case 1:
        events.push(
          factory.create('activity.app.launched', 'activity', {
            app,
            pid: 2000 + i,
            executablePath: `/usr/bin/${app}`,
          }),
        );
        break;
      case 2:
        events.push(
          factory.create('activity.network.volume', 'network', {
            interface: 'eth0',
            intervalMs: 60000,
            bytesIn: 123456 + i,
            bytesOut: 65432 + i,
          }),
        );
        break;
      default:
        events.push(factory.create('activity.system.active', 'activity', { idleForMs: 30000 + i }));
    }
  }
  return events;
}
