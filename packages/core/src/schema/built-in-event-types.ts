import { z } from 'zod';
import { ACTIVITY_SCOPE, NETWORK_SCOPE, OPERATIONAL_SCOPE } from '../consent/consent-scopes.js';
import { defineEventType } from './event-type.js';

// Identifiers of applications are bundle ids or executable names, never
// window titles: a title can carry a document name or a message subject.
const appName = z.string().min(1).max(256);
const pid = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
const durationMs = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const byteCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** An application process started. Scope `activity`. */
export const appLaunched = defineEventType({
  type: 'activity.app.launched',
  scope: ACTIVITY_SCOPE,
  description: 'An application process started.',
  data: z.object({
    app: appName,
    pid: pid.optional(),
    executablePath: z.string().max(4096).optional(),
  }),
});

/** An application process ended. Scope `activity`. */
export const appClosed = defineEventType({
  type: 'activity.app.closed',
  scope: ACTIVITY_SCOPE,
  description: 'An application process ended.',
  data: z.object({
    app: appName,
    pid: pid.optional(),
    runDurationMs: durationMs.optional(),
  }),
});

/** The foreground application changed. No window titles. Scope `activity`. */
export const windowFocused = defineEventType({
  type: 'activity.window.focused',
  scope: ACTIVITY_SCOPE,
  description: 'The foreground application changed (the application only, never the window title).',
  data: z.object({
    app: appName,
    pid: pid.optional(),
    previousApp: appName.optional(),
    previousFocusMs: durationMs.optional(),
  }),
});

/** The user went idle (no input for the threshold). Scope `activity`. */
export const systemIdle = defineEventType({
  type: 'activity.system.idle',
  scope: ACTIVITY_SCOPE,
  description: 'The user went idle: no input for at least the idle threshold.',
  data: z.object({
    idleThresholdMs: durationMs,
    activeForMs: durationMs.optional(),
  }),
});

/** The user became active again. Scope `activity`. */
export const systemActive = defineEventType({
  type: 'activity.system.active',
  scope: ACTIVITY_SCOPE,
  description: 'The user became active again after being idle.',
  data: z.object({
    idleForMs: durationMs,
  }),
});

/** Bytes in and out over an interval: volume only, never content or peers. Scope `network`. */
export const networkVolume = defineEventType({
  type: 'activity.network.volume',
  scope: NETWORK_SCOPE,
  description: 'Bytes received and sent over an interval: volume only, no content, no addresses.',
  data: z.object({
    interface: z.string().min(1).max(64).optional(),
    intervalMs: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    bytesIn: byteCount,
    bytesOut: byteCount,
  }),
});

/** A job (backup, sync, deployment step) ran. Scope `operational`. */
export const jobReport = defineEventType({
  type: 'job.report',
  scope: OPERATIONAL_SCOPE,
  description: 'A job ran on the device: when, for how long, with what outcome and metrics.',
  data: z.object({
    job: z.string().min(1).max(128),
    startedAt: z.iso.datetime({ offset: true }),
    finishedAt: z.iso.datetime({ offset: true }),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    durationMs,
    metrics: z.record(z.string().max(128), z.number()).optional(),
    error: z
      .strictObject({ message: z.string().max(4096), code: z.string().max(128).optional() })
      .optional(),
  }),
});

/** The agent is alive; carries its health figures. Scope `operational`. */
export const deviceHeartbeat = defineEventType({
  type: 'device.heartbeat',
  scope: OPERATIONAL_SCOPE,
  description: 'The agent is alive, with its health figures.',
  data: z.object({
    uptimeMs: durationMs.optional(),
    agentVersion: z.string().max(64).optional(),
    queueDepth: z.number().int().nonnegative().optional(),
    spoolBytes: byteCount.optional(),
  }),
});

/** Every built-in event type, in a stable order. */
export const builtInEventTypes = [
  appLaunched,
  appClosed,
  windowFocused,
  systemIdle,
  systemActive,
  networkVolume,
  jobReport,
  deviceHeartbeat,
] as const;
