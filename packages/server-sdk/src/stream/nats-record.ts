import { z } from 'zod';
import type { StreamRecord } from './event-stream.js';

/**
 * Headers a relayed record carries besides its body (the outbox payload as JSON), so consumers
 * (ours and outside ones) see the outbox seq, tenant, topic and creation time without parsing
 * the subject. `Nats-Msg-Id` ({@link outboxMessageId}) is set too, for JetStream's deduplication.
 */
export const RECORD_HEADERS = Object.freeze({
  seq: 'Fieldline-Seq',
  tenant: 'Fieldline-Tenant',
  topic: 'Fieldline-Topic',
  createdAt: 'Fieldline-Created-At',
});

/**
 * The `Nats-Msg-Id` of an outbox row: JetStream stores equal ids within its dedup window once.
 * The row's creation time is part of it, not only its seq: a relay publishing a row again
 * (after a crash) sends the same id, but a database that reuses seqs on the same stream (reset,
 * restored from a backup, or a second deployment) makes new rows whose ids differ, so they
 * are not dropped as duplicates of the old ones.
 *
 * @param record - the outbox row's seq and creation time.
 * @returns `outbox-<seq>-<createdAt in ms since the epoch>`.
 * @example
 * ```ts
 * outboxMessageId({ seq: 7, createdAt: new Date(1767225600000) }); // 'outbox-7-1767225600000'
 * ```
 */
export function outboxMessageId(record: Pick<StreamRecord, 'seq' | 'createdAt'>): string {
  return `outbox-${record.seq}-${record.createdAt.getTime()}`;
}

const headerSchema = z.object({
  seq: z.coerce.number().int().positive(),
  tenantId: z.string().min(1),
  topic: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
});
const payloadSchema = z.record(z.string(), z.unknown());

/** What a received message looked like, as far as decoding goes. @internal */
export type DecodedRecord =
  | { readonly ok: true; readonly record: StreamRecord }
  | { readonly ok: false; readonly reason: string };

/** The parts of a received JetStream message that decoding reads. @internal */
export interface ReceivedMessage {
  readonly headers?: { get(key: string): string } | undefined;
  string(): string;
}

/**
 * Parses a received message into a {@link StreamRecord}: the headers and body are untrusted
 * (anyone allowed to publish on the subjects could write them), so both go through zod, and
 * a malformed message is a result, not a throw.
 *
 * @internal
 */
export function decodeRecord(message: ReceivedMessage): DecodedRecord {
  const headers = message.headers;
  const parsedHeaders = headerSchema.safeParse({
    seq: headers?.get(RECORD_HEADERS.seq) || undefined,
    tenantId: headers?.get(RECORD_HEADERS.tenant) || undefined,
    topic: headers?.get(RECORD_HEADERS.topic) || undefined,
    createdAt: headers?.get(RECORD_HEADERS.createdAt) || undefined,
  });
  if (!parsedHeaders.success) {
    return { ok: false, reason: `bad headers: ${parsedHeaders.error.issues[0]?.message ?? ''}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(message.string());
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const payload = payloadSchema.safeParse(body);
  if (!payload.success) return { ok: false, reason: 'the body is not a JSON object' };
  const { seq, tenantId, topic, createdAt } = parsedHeaders.data;
  return {
    ok: true,
    record: { seq, tenantId, topic, payload: payload.data, createdAt: new Date(createdAt) },
  };
}
