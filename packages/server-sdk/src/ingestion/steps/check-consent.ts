import { InvalidArgumentError } from '@fieldline/core';
import { type IngestionEntry, pendingEntries, rejectEntry } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

/** A device's consent over time, as the consent ledger knows it. */
export interface ConsentHistory {
  /**
   * Whether data of `scope` could be collected at a given moment.
   *
   * @param scope - the event's consent scope.
   * @param atMs - the event's `occurredAt`, ms since the epoch.
   */
  canCollectAt(scope: string, atMs: number): boolean;
}

/** Where ingestion reads consent from (implemented on the consent ledger). */
export interface ConsentHistorySource {
  /**
   * The consent history of one device; called at most once per batch.
   *
   * @param deviceId - the sending device.
   */
  historyFor(deviceId: string): Promise<ConsentHistory>;
}

/** The audit record of one batch's consent refusals (one per batch, not per event). */
export interface ConsentRefusalAuditEntry {
  /** Always `events.consent_refused`. */
  readonly action: 'events.consent_refused';
  /** Tenant of the device. */
  readonly tenantId: string;
  /** The sending device. */
  readonly deviceId: string;
  /** The batch's id. */
  readonly batchId: string;
  /** The sealed message's id. */
  readonly messageId: string;
  /** When the batch was received. */
  readonly at: Date;
  /** How many events were refused. */
  readonly refusedCount: number;
  /** The distinct scopes refused, sorted. */
  readonly scopes: readonly string[];
  /** How many events were refused per scope. */
  readonly refusedPerScope: Readonly<Record<string, number>>;
  /** Ids of the refused events; at most `maxAuditedIds` of them. */
  readonly eventIds: readonly string[];
}

/** Options of {@link createCheckConsentStep}. */
export interface CheckConsentStepOptions {
  /** The consent histories. */
  readonly consent: ConsentHistorySource;
  /**
   * Records one entry per batch that had refusals (e.g. into the audit log). Awaited; if it
   * fails the request fails, so refusals are never unaudited.
   */
  readonly audit: (entry: ConsentRefusalAuditEntry) => Promise<void> | void;
  /**
   * Most event ids listed in one audit entry (the count is always exact).
   * @default 1000
   */
  readonly maxAuditedIds?: number;
}

/**
 * Rejects, with code `consent_required`, each pending event whose scope was not collectable
 * at its `occurredAt` (not now: a batch sent after a withdrawal still holds events collected
 * before it), and audits the refusals once per batch.
 *
 * @param options - consent source, audit sink and audit size.
 * @returns the step, named `check-consent`.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `maxAuditedIds`
 *   is negative.
 * @example
 * ```ts
 * createCheckConsentStep({ consent: ledger, audit: (entry) => auditLog.append(entry) });
 * ```
 */
export function createCheckConsentStep(options: CheckConsentStepOptions): IngestionStep {
  const maxAuditedIds = options.maxAuditedIds ?? 1000;
  if (!Number.isSafeInteger(maxAuditedIds) || maxAuditedIds < 0) {
    throw new InvalidArgumentError('maxAuditedIds must be a non-negative integer.', {
      maxAuditedIds,
    });
  }
  return {
    name: 'check-consent',
    async run(ctx, next) {
      const pending = pendingEntries(ctx).filter((entry) => entry.event !== undefined);
      if (pending.length > 0) {
        const history = await options.consent.historyFor(ctx.device.id);
        const refused: IngestionEntry[] = [];
        for (const entry of pending) {
          const event = entry.event!;
          if (!history.canCollectAt(event.scope, Date.parse(event.occurredAt))) {
            rejectEntry(
              entry,
              'consent_required',
              `No consent for scope "${event.scope}" at ${event.occurredAt}.`,
            );
            refused.push(entry);
          }
        }
        if (refused.length > 0) {
          const refusedPerScope: Record<string, number> = {};
          for (const entry of refused) {
            const scope = entry.event!.scope;
            refusedPerScope[scope] = (refusedPerScope[scope] ?? 0) + 1;
          }
          await options.audit({
            action: 'events.consent_refused',
            tenantId: ctx.device.tenantId,
            deviceId: ctx.device.id,
            batchId: ctx.batch?.batchId ?? '',
            messageId: ctx.message?.messageId ?? '',
            at: ctx.receivedAt,
            refusedCount: refused.length,
            scopes: Object.keys(refusedPerScope).sort(),
            refusedPerScope,
            eventIds: refused.slice(0, maxAuditedIds).map((entry) => entry.id),
          });
        }
      }
      await next();
    },
  };
}
