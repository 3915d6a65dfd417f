import { randomUUID } from 'node:crypto';
import {
  type Clock,
  classifyError,
  classifyHttpStatus,
  type EventsResponse,
  encodeSealedBody,
  eventsResponseSchema,
  type Identity,
  parseRetryAfter,
  type Random,
  type ReportResponse,
  type RetryOutcome,
  type RetryPolicyOptions,
  type RetryResult,
  reportResponseSchema,
  retry,
  SealKind,
  sealMessage,
} from '@fieldline/core';
import type { EnrollmentFile } from './state/state-files.js';
import type { Transport, TransportResponse } from './transport/http-transport.js';

/** How a delivery ended. */
export type DeliveryOutcome<T> =
  /** The server took it; `response` is its parsed answer. */
  | { readonly status: 'delivered'; readonly response: T }
  /** The server refused it for good (a 4xx other than 401/408/429): drop it and count it. */
  | { readonly status: 'refused'; readonly httpStatus: number; readonly code: string }
  /** The body was too large for the server: split it and try again. */
  | { readonly status: 'too_large' }
  /** Credentials are no longer accepted. */
  | { readonly status: 'unauthorized'; readonly code: string }
  /** Not now (server down, overloaded, retries exhausted): keep it on disk and try later. */
  | { readonly status: 'deferred'; readonly retryAfterMs?: number; readonly reason: string };

const utf8 = new TextEncoder();

function errorCode(response: TransportResponse): string {
  const body = response.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : `http_${response.status}`;
}

/** Everything a sealed POST needs. */
export interface DeliveryContext {
  readonly transport: Transport;
  readonly enrollment: EnrollmentFile;
  readonly identity: Identity;
  readonly clock: Clock;
  readonly random: Random;
  readonly retryPolicy: RetryPolicyOptions;
  readonly signal?: AbortSignal;
}

/**
 * Seals `plaintext` afresh for every attempt (a frame's timestamp must be
 * within the server's skew window, and its message id is single-use) and
 * POSTs it under core's retry policy: jittered backoff, `Retry-After` and 503
 * pacing honoured, 4xx other than 401/408/429 not retried.
 */
async function postSealed<T>(
  context: DeliveryContext,
  path: string,
  kind: number,
  plaintext: Uint8Array,
  parse: (body: unknown) => T | undefined,
): Promise<DeliveryOutcome<T>> {
  const { enrollment, transport, clock } = context;
  let lastReason = 'not attempted';
  const result: RetryResult<DeliveryOutcome<T>> = await retry<DeliveryOutcome<T>>(
    async (_attempt, signal): Promise<RetryOutcome<DeliveryOutcome<T>>> => {
      const frame = await sealMessage({
        kind,
        senderId: enrollment.deviceId,
        messageId: randomUUID(),
        timestampMs: clock.now(),
        plaintext,
        recipientEncryptionPublicKey: enrollment.serverPublicKeys.encryptionPublicKey,
        sender: context.identity,
      });
      let response: TransportResponse;
      try {
        response = await transport.request({
          method: 'POST',
          url: `${enrollment.serverUrl}${path}`,
          headers: { authorization: `Bearer ${enrollment.deviceToken}` },
          body: JSON.stringify(encodeSealedBody(frame)),
          signal,
        });
      } catch (error) {
        lastReason = error instanceof Error ? error.message : String(error);
        const kindOfError = classifyError(error, { signal });
        if (kindOfError === 'retryable') return { status: 'retryable', error };
        if (kindOfError === 'aborted') throw error;
        return { status: 'fatal', error };
      }
      const retryAfterMs = parseRetryAfter(response.header('retry-after'), clock.now());
      switch (classifyHttpStatus(response.status)) {
        case 'success': {
          const parsed = parse(response.body);
          if (parsed === undefined) {
            lastReason = 'unexpected response body';
            return { status: 'retryable' };
          }
          return { status: 'success', value: { status: 'delivered', response: parsed } };
        }
        case 'reauthenticate':
          return {
            status: 'success',
            value: { status: 'unauthorized', code: errorCode(response) },
          };
        case 'retryable':
          lastReason = `${response.status} ${errorCode(response)}`;
          return retryAfterMs === undefined
            ? { status: 'retryable' }
            : { status: 'retryable', retryAfterMs };
        default: {
          const code = errorCode(response);
          if (response.status === 413) return { status: 'success', value: { status: 'too_large' } };
          // A frame the server could not open or a replayed id is not the events' fault:
          // keep them and try again later with a fresh frame instead of dropping them.
          // Nor is a device that must rotate its keys or wait for an admin (docs/protocol.md §5).
          if (
            code === 'invalid_sealed_message' ||
            code === 'replayed' ||
            code === 'bad_signature' ||
            code === 'key_rotation_required' ||
            code === 'device_quarantined'
          ) {
            lastReason = `${response.status} ${code}`;
            return { status: 'success', value: { status: 'deferred', reason: lastReason } };
          }
          return {
            status: 'success',
            value: { status: 'refused', httpStatus: response.status, code },
          };
        }
      }
    },
    context.retryPolicy,
    {
      clock,
      random: context.random,
      ...(context.signal === undefined ? {} : { signal: context.signal }),
    },
  );
  if (result.status === 'success') return result.value;
  return {
    status: 'deferred',
    reason: `${result.status}: ${lastReason}`,
    ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
  };
}

/**
 * Delivers one event batch (the plaintext `EventBatch` JSON).
 *
 * @param context - transport, credentials, clock, retry policy.
 * @param batchJson - the batch, serialized.
 */
export function deliverEventBatch(
  context: DeliveryContext,
  batchJson: string,
): Promise<DeliveryOutcome<EventsResponse>> {
  return postSealed(context, '/v1/events', SealKind.EventBatch, utf8.encode(batchJson), (body) => {
    const parsed = eventsResponseSchema.safeParse(body);
    return parsed.success ? parsed.data : undefined;
  });
}

/**
 * Delivers one job report (the plaintext `JobReport` JSON).
 *
 * @param context - transport, credentials, clock, retry policy.
 * @param reportJson - the report, serialized.
 */
export function deliverReport(
  context: DeliveryContext,
  reportJson: string,
): Promise<DeliveryOutcome<ReportResponse>> {
  return postSealed(context, '/v1/reports', SealKind.JobReport, utf8.encode(reportJson), (body) => {
    const parsed = reportResponseSchema.safeParse(body);
    return parsed.success ? parsed.data : undefined;
  });
}
