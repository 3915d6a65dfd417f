import {
  type ConsentEvent,
  createConsentRecord,
  isInvalidArgumentError,
  type PolicyPurposes,
  policyPurposesSchema,
  policySummarySchema,
  policyTextSha256,
  scopeSchema,
  transitionConsent,
  UNKNOWN_CONSENT_STATE,
} from '@fieldline/core';
import type { Insertable, Kysely } from 'kysely';
import { runInTransaction } from '../audit/run-in-transaction.js';
import type { ConsentLedgerTable, FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { writeNotification } from '../notifications/write-notification.js';
import { policyInput } from './change-device-consent.js';
import {
  ledgerRow,
  loadLatestStates,
  loadPolicy,
  type StoredPolicy,
} from './consent-ledger-store.js';
import {
  type ConsentServiceOptions,
  nowMs,
  type ResolvedConsentServiceOptions,
  resolveConsentServiceOptions,
} from './consent-service-options.js';

/** A new policy version for a tenant. */
export interface PublishPolicyRequest {
  /** The tenant. */
  readonly tenantId: string;
  /** The new version: a positive integer above every version the tenant has. */
  readonly version: number;
  /** The scopes the policy asks consent for; non-empty, unique scope names. */
  readonly scopes: readonly string[];
  /** The policy text shown to subjects. */
  readonly text: string;
  /** Where the policy is published (http or https). */
  readonly url?: string;
  /** A short plain-language summary of `text`, shown above it on the consent page. */
  readonly summary?: string;
  /**
   * What the policy tells people about each scope: its purpose, what is collected and how many
   * days it is kept; one entry per scope, no more. Consent records and receipts then carry
   * these words (and the hash of `text`).
   *
   * @default the configured purpose texts (`ConsentServiceOptions.purposes`), else generic ones
   */
  readonly purposes?: PolicyPurposes;
  /**
   * Who published, for the ledger and the audit log.
   *
   * @default 'admin'
   */
  readonly actor?: string;
}

/** What {@link publishPolicy} did. */
export interface PublishedPolicy {
  readonly tenantId: string;
  readonly version: number;
  readonly scopes: readonly string[];
  /** When the policy took effect, RFC 3339. */
  readonly publishedAt: string;
  /** SHA-256 of the policy text, lowercase hex, as consent records carry it. */
  readonly textSha256: string;
  /** How many devices were moved to pending (every device of the tenant). */
  readonly devices: number;
}

// Keeps each insert well under PostgreSQL's 65,535 bind parameters (10 per row).
const LEDGER_INSERT_CHUNK = 500;
const MAX_POLICY_TEXT = 100_000;

/**
 * Publishes a new policy version for a tenant: stores it and moves every
 * device of the tenant to pending on it (re-consent), with one ledger row per
 * device and one audit row `consent.policy_published` and one `policy.published` notification
 * (event stream), all in one transaction.
 * Devices are locked in id order, so grants and withdrawals running at the same
 * time land either before the publication or after it, never lost.
 *
 * @param db - the database, or a transaction to join.
 * @param request - tenant, version, scopes, text, URL and actor.
 * @param options - clock, controller, purpose texts, audit step.
 * @returns the published version and how many devices now wait for consent.
 * @throws {@link HttpError} `invalid_request` for a bad version, scopes, text or URL.
 * @throws {@link HttpError} `not_found` when the tenant does not exist.
 * @throws {@link HttpError} `conflict` when `version` is not above the tenant's latest
 *   (`details.latestVersion`).
 * @example
 * ```ts
 * await publishPolicy(db, { tenantId: 'acme', version: 2, scopes: ['activity', 'network'],
 *   text: policyText, url: 'https://acme.example/privacy/v2' }, { clock });
 * ```
 */
export async function publishPolicy(
  db: Kysely<FieldlineDatabase>,
  request: PublishPolicyRequest,
  options: ConsentServiceOptions = {},
): Promise<PublishedPolicy> {
  validate(request);
  const { tenantId, version } = request;
  const actor = request.actor ?? 'admin';
  const resolved = resolveConsentServiceOptions(options, tenantId);
  const policy: StoredPolicy = {
    version,
    scopes: [...request.scopes],
    url: request.url ?? null,
    purposes: request.purposes ?? null,
    textSha256: policyTextSha256(request.text),
  };
  checkRecordFormat(policy, resolved);
  return runInTransaction(db, async (trx) => {
    // The tenant row lock queues publications of one tenant behind each other. NO KEY UPDATE,
    // not UPDATE: the foreign-key checks of ledger inserts (KEY SHARE) must not wait on it.
    const tenant = await trx
      .selectFrom('tenants')
      .select('id')
      .where('id', '=', tenantId)
      .forNoKeyUpdate()
      .executeTakeFirst();
    if (tenant === undefined) throw new HttpError('not_found', `Tenant ${tenantId} not found.`);
    const latest = await loadPolicy(trx, tenantId);
    if (latest !== undefined && version <= latest.version) {
      throw new HttpError(
        'conflict',
        `Policy version ${version} is not above the latest version ${latest.version}.`,
        { details: { latestVersion: latest.version } },
      );
    }
    const atMs = nowMs(resolved.clock);
    await trx
      .insertInto('policies')
      .values({
        tenant_id: tenantId,
        version,
        scopes: JSON.stringify(policy.scopes),
        text: request.text,
        url: policy.url,
        created_at: new Date(atMs).toISOString(),
        purposes: policy.purposes === null ? null : JSON.stringify(policy.purposes),
        summary: request.summary ?? null,
        text_sha256: policy.textSha256,
      })
      .execute();

    const devices = await trx
      .selectFrom('devices')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .forNoKeyUpdate()
      .execute();
    const stateOf = await loadLatestStates(trx, tenantId);
    const event: ConsentEvent = { type: 'policy_published', version };
    const input = policyInput(policy, resolved);
    const rows: Insertable<ConsentLedgerTable>[] = [];
    for (const { id: deviceId } of devices) {
      const from = stateOf(deviceId);
      const next = transitionConsent(from, event);
      if (!next.ok) {
        // Only a ledger ahead of the policies table gets here; publishing must not skip a device.
        throw new HttpError('conflict', `Device ${deviceId}: ${next.error.message}`, {
          details: { code: next.error.code, deviceId },
        });
      }
      const record = createConsentRecord({
        from,
        event,
        subject: { deviceId },
        controller: resolved.controller,
        policy: input,
        at: atMs,
        random: resolved.random,
      });
      rows.push(ledgerRow({ tenantId, deviceId, atMs, event, state: next.value, record, actor }));
    }
    for (let i = 0; i < rows.length; i += LEDGER_INSERT_CHUNK) {
      await trx
        .insertInto('consent_ledger')
        .values(rows.slice(i, i + LEDGER_INSERT_CHUNK))
        .execute();
    }
    await resolved.audit(
      trx,
      {
        tenantId,
        actor,
        action: 'consent.policy_published',
        subject: `policy:v${version}`,
        details: {
          version,
          scopes: [...policy.scopes],
          ...(policy.url === null ? {} : { url: policy.url }),
          textSha256: policy.textSha256,
          devices: rows.length,
        },
      },
      { clock: resolved.clock },
    );
    await writeNotification(trx, tenantId, 'policy.published', {
      version,
      scopes: [...policy.scopes],
      devices: rows.length,
      at: new Date(atMs).toISOString(),
    });
    return {
      tenantId,
      version,
      scopes: policy.scopes,
      publishedAt: new Date(atMs).toISOString(),
      textSha256: policyTextSha256(request.text),
      devices: rows.length,
    };
  });
}

function validate(request: PublishPolicyRequest): void {
  const bad = (message: string, details: Record<string, unknown>): never => {
    throw new HttpError('invalid_request', message, { details });
  };
  if (!Number.isSafeInteger(request.version) || request.version < 1) {
    bad('version must be a positive integer.', { version: request.version });
  }
  if (request.scopes.length === 0) bad('A policy asks for at least one scope.', {});
  const invalid = request.scopes.filter((scope) => !scopeSchema.safeParse(scope).success);
  if (invalid.length > 0) bad(`Invalid scope name(s): ${invalid.join(', ')}.`, { invalid });
  if (new Set(request.scopes).size !== request.scopes.length) {
    bad('Scopes must be unique.', { scopes: [...request.scopes] });
  }
  if (request.text.trim() === '' || request.text.length > MAX_POLICY_TEXT) {
    bad(`text must be 1 to ${MAX_POLICY_TEXT} characters, not blank.`, {});
  }
  if (request.url !== undefined && !isHttpUrl(request.url)) {
    bad('url must be an http or https URL of at most 2048 characters.', { url: request.url });
  }
  if (request.summary !== undefined && !policySummarySchema.safeParse(request.summary).success) {
    bad('summary must be 1 to 4000 characters, not blank.', {});
  }
  if (request.purposes !== undefined) validatePurposes(request.purposes, request.scopes, bad);
}

// Every scope described, and nothing else: a person must never be asked about a scope whose
// purpose the policy left out, nor read about one it does not ask for.
function validatePurposes(
  purposes: PolicyPurposes,
  scopes: readonly string[],
  bad: (message: string, details: Record<string, unknown>) => never,
): void {
  const parsed = policyPurposesSchema.safeParse(purposes);
  if (!parsed.success) {
    bad('purposes must map each scope to { purpose, collects?, retentionDays? }.', {
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    });
  }
  const described = Object.keys(purposes);
  const missing = scopes.filter((scope) => !Object.hasOwn(purposes, scope));
  const extra = described.filter((scope) => !scopes.includes(scope));
  if (missing.length > 0 || extra.length > 0) {
    bad('purposes must describe every scope of the policy, and only those.', { missing, extra });
  }
}

// The consent record format is stricter about URLs than `new URL` (zod's httpUrl wants a
// domain name): try a record now, so a policy stored here can always be recorded later.
function checkRecordFormat(policy: StoredPolicy, resolved: ResolvedConsentServiceOptions): void {
  try {
    createConsentRecord({
      from: UNKNOWN_CONSENT_STATE,
      event: { type: 'policy_published', version: policy.version },
      subject: { deviceId: 'format-check' },
      controller: resolved.controller,
      policy: policyInput(policy, resolved),
      at: 0,
      random: resolved.random,
    });
  } catch (error) {
    const issues = isInvalidArgumentError(error) ? error.details?.issues : undefined;
    if (
      Array.isArray(issues) &&
      issues.some((issue: { path?: unknown }) => String(issue.path).startsWith('policy.url'))
    ) {
      throw new HttpError('invalid_request', 'url is not a valid http or https URL.', {
        details: { url: policy.url },
      });
    }
    throw error;
  }
}

function isHttpUrl(value: string): boolean {
  if (value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
