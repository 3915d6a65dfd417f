import {
  type Clock,
  type ConsentRecordController,
  type Random,
  systemClock,
  systemRandom,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { NewAuditEntry } from '../audit/audit-entry.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * Records one audit row inside the transaction of the change it describes.
 * {@link appendAudit} is the default; wrap it to add fields or to mirror rows elsewhere.
 */
export type ConsentAuditStep = (
  trx: Kysely<FieldlineDatabase>,
  entry: NewAuditEntry,
  options: { readonly clock: Clock },
) => Promise<unknown>;

/** Options shared by the consent service's functions. */
export interface ConsentServiceOptions {
  /**
   * Where times of ledger rows and audit rows come from.
   *
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Randomness for the records' UUIDv7 ids.
   *
   * @default systemRandom
   */
  readonly random?: Random;
  /**
   * The controller named in consent records (who is responsible for the processing).
   *
   * @default { name: tenantId }
   */
  readonly controller?: ConsentRecordController;
  /**
   * Purpose text per scope, as shown to the subject. Scopes missing here get
   * "Collect <scope> data for the purposes described in policy v<n>.".
   *
   * @default {}
   */
  readonly purposes?: Readonly<Record<string, string>>;
  /**
   * The audit step run in each write's transaction.
   *
   * @default appendAudit
   */
  readonly audit?: ConsentAuditStep;
}

/**
 * {@link ConsentServiceOptions} with every default applied.
 *
 * @internal
 */
export interface ResolvedConsentServiceOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly controller: ConsentRecordController;
  readonly audit: ConsentAuditStep;
  /** The purpose texts of a policy's scopes, keyed by scope. */
  purposesFor(scopes: readonly string[], policyVersion: number): Record<string, string>;
}

/**
 * Applies the defaults of {@link ConsentServiceOptions} for one tenant.
 *
 * @param options - the caller's options.
 * @param tenantId - the tenant, the controller's default name.
 * @returns the options with defaults.
 * @internal
 */
export function resolveConsentServiceOptions(
  options: ConsentServiceOptions,
  tenantId: string,
): ResolvedConsentServiceOptions {
  const purposes = options.purposes ?? {};
  return {
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    controller: options.controller ?? { name: tenantId },
    audit: options.audit ?? appendAudit,
    purposesFor(scopes, policyVersion) {
      const texts: Record<string, string> = {};
      for (const scope of scopes) {
        texts[scope] = Object.hasOwn(purposes, scope)
          ? (purposes[scope] as string)
          : `Collect ${scope} data for the purposes described in policy v${policyVersion}.`;
      }
      return texts;
    },
  };
}

/**
 * The current time as whole epoch milliseconds, as the consent machine requires.
 *
 * @param clock - the clock.
 * @returns `clock.now()` rounded down.
 * @internal
 */
export function nowMs(clock: Clock): number {
  return Math.floor(clock.now());
}
