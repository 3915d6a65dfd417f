import { join } from 'node:path';
import {
  consentSnapshotSchema,
  deviceConfigSchema,
  isSpkiPin,
  publicKeysSchema,
  tenantSchema,
} from '@fieldline/core';
import { z } from 'zod';

/** The enrollment the agent keeps (0600): who it is to the server, and the pinned server keys. */
export const enrollmentFileSchema = z.strictObject({
  version: z.literal(1),
  serverUrl: z.url(),
  deviceId: z.string().min(1),
  tenant: tenantSchema,
  deviceToken: z.string().min(16),
  serverPublicKeys: publicKeysSchema,
  enrolledAt: z.iso.datetime({ offset: true }),
});

/** The enrollment state file. */
export type EnrollmentFile = z.infer<typeof enrollmentFileSchema>;

/**
 * The TLS trust the device enrolled with (0600): later runs use the same pins and CAs without
 * being told again, as they use the server keys pinned in the enrollment.
 */
export const tlsFileSchema = z.strictObject({
  version: z.literal(1),
  pins: z.array(z.string().refine(isSpkiPin, 'not an SPKI pin (sha256/<base64>)')),
  ca: z.array(z.string().min(1)).optional(),
});

/** The TLS state file. */
export type TlsFile = z.infer<typeof tlsFileSchema>;

/** The last good config and its ETag. */
export const cachedConfigSchema = z.strictObject({
  etag: z.string().nullable(),
  fetchedAt: z.iso.datetime({ offset: true }),
  config: deviceConfigSchema,
});

/** The last consent snapshot the server sent. */
export const consentFileSchema = z.strictObject({
  consent: consentSnapshotSchema,
  updatedAt: z.iso.datetime({ offset: true }),
});

/** The start of the next block of sequence numbers (persisted ahead, so seq never goes back). */
export const seqFileSchema = z.strictObject({ nextBlockStart: z.number().int().nonnegative() });

/** The last state of a job. */
export const jobStateSchema = z.strictObject({
  job: z.string(),
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  metrics: z.record(z.string(), z.number()),
  error: z.strictObject({ message: z.string(), code: z.string().optional() }).optional(),
  reportId: z.string(),
  delivered: z.boolean(),
});

/** Where each state file lives in the agent's state directory. */
export interface StatePaths {
  readonly root: string;
  readonly identity: string;
  /**
   * A new identity whose rotation the server may not have confirmed yet (docs/protocol.md
   * §5.3); kept until the rotation is confirmed, then renamed over `identity`.
   */
  readonly nextIdentity: string;
  readonly enrollment: string;
  readonly tls: string;
  readonly config: string;
  readonly consent: string;
  readonly seq: string;
  readonly status: string;
  readonly spool: string;
  readonly spoolKey: string;
  readonly jobs: string;
}

/**
 * The layout of a state directory.
 *
 * @param root - the directory.
 */
export function statePaths(root: string): StatePaths {
  return {
    root,
    identity: join(root, 'identity.json'),
    nextIdentity: join(root, 'identity.next.json'),
    enrollment: join(root, 'enrollment.json'),
    tls: join(root, 'tls.json'),
    config: join(root, 'config.cached.json'),
    consent: join(root, 'consent.json'),
    seq: join(root, 'seq.json'),
    status: join(root, 'status.json'),
    spool: join(root, 'spool'),
    spoolKey: join(root, 'spool.key'),
    jobs: join(root, 'jobs'),
  };
}
