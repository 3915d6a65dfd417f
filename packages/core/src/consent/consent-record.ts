import { z } from 'zod';
import { scopeSchema } from '../protocol/common.js';
import { err, ok, type Result } from '../result.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { ConsentRecordError, describeIssues, toConsentIssues } from './consent-errors.js';
import { policyVersionSchema } from './consent-state.js';

/** The version of the consent record format this package writes and reads. */
export const CONSENT_RECORD_VERSION = 1;

/**
 * How the consent event behind a record came about:
 * - `agent-ui`: the subject decided in the agent's own consent screen;
 * - `admin-api`: an administrator recorded the subject's decision through the admin API;
 * - `policy-update`: a new policy version was published (the record is `pending`);
 * - `expiry`: a time-limited grant lapsed (the record is `expired`).
 */
export type ConsentCollectionMethod = 'agent-ui' | 'admin-api' | 'policy-update' | 'expiry';

/** Every {@link ConsentCollectionMethod}. */
export const CONSENT_COLLECTION_METHODS: readonly ConsentCollectionMethod[] = Object.freeze([
  'agent-ui',
  'admin-api',
  'policy-update',
  'expiry',
]);

/**
 * The status of a record's purposes after its event. `unknown` is not recorded:
 * a record always concerns a published policy.
 */
export type ConsentRecordState = 'pending' | 'granted' | 'withdrawn' | 'expired';

/** The subject the consent is about (ISO/IEC 29100 "PII principal"). */
export interface ConsentRecordSubject {
  /** The device the consent governs. */
  readonly deviceId: string;
  /** An opaque reference to the person using the device, when the controller has one. */
  readonly userRef?: string;
}

/** The party responsible for the processing (the "PII controller"). */
export interface ConsentRecordController {
  /** Legal name of the controller. */
  readonly name: string;
  /** Where the subject can reach the controller about privacy (address, e-mail or URL). */
  readonly contact?: string;
}

/** One purpose a record covers: a consent scope and what it is used for. */
export interface ConsentRecordPurpose {
  /** The consent scope, as events and grants name it. */
  readonly scope: string;
  /** The purpose as shown to the subject, in the record's language. */
  readonly purpose: string;
  /** The lawful basis; consent records only ever cover consent. */
  readonly legalBasis: 'consent';
  /**
   * What is collected under this scope, as the published policy told the subject (the
   * "PII categories" of ISO/IEC TS 27560). Absent when the policy did not say.
   */
  readonly collects?: string;
  /** How many days the data collected under this scope is kept, as the policy declared. */
  readonly retentionDays?: number;
}

/** The policy (privacy notice) the subject was shown. */
export interface ConsentRecordPolicy {
  /** The policy version. */
  readonly version: number;
  /** Where the policy text is published. */
  readonly url?: string;
  /**
   * SHA-256 of the policy text's UTF-8 bytes, lowercase hex ({@link policyTextSha256}): ties
   * the record to the exact text the subject was shown. Absent on records written before
   * policies carried it.
   */
  readonly textSha256?: string;
}

/** The longest a purpose's `collects` text may be. */
const MAX_PURPOSE_TEXT = 2000;
/** The longest retention a policy may declare: 100 years. */
export const MAX_RETENTION_DAYS = 36_500;

/**
 * When things happened, as RFC 3339 UTC timestamps with millisecond precision
 * (`2024-05-01T12:00:00.000Z`, as `Date.prototype.toISOString` writes them).
 */
export interface ConsentRecordTimestamps {
  /** When the event behind this record happened (consent given, withdrawn, lapsed, re-asked). */
  readonly collectedAt: string;
  /** When the grant these purposes were under took effect. */
  readonly grantedAt?: string;
  /** When that grant lapses (or lapsed). */
  readonly expiresAt?: string;
  /** When consent to these purposes was withdrawn or refused. */
  readonly withdrawnAt?: string;
}

/**
 * One entry of the append-only consent ledger and the body of a consent receipt:
 * one consent event about a set of purposes, after the fields of ISO/IEC TS
 * 27560 and the Kantara Consent Receipt that apply (mapping in docs/consent.md).
 */
export interface ConsentRecord {
  /** Version of the record format; always {@link CONSENT_RECORD_VERSION}. */
  readonly version: typeof CONSENT_RECORD_VERSION;
  /** Unique id of the record (a UUID; `createConsentRecord` makes a UUIDv7). */
  readonly recordId: string;
  /** Who the consent is about. */
  readonly subject: ConsentRecordSubject;
  /** Who is responsible for the processing. */
  readonly controller: ConsentRecordController;
  /** The purposes this record is about; non-empty, one per scope. */
  readonly purposes: readonly ConsentRecordPurpose[];
  /** The policy the decision was made on. */
  readonly policy: ConsentRecordPolicy;
  /** The status of these purposes after the event. */
  readonly state: ConsentRecordState;
  /** When the event happened, and the bounds of the grant involved. */
  readonly timestamps: ConsentRecordTimestamps;
  /** How the event came about. */
  readonly method: ConsentCollectionMethod;
  /** The jurisdiction whose law applies: ISO 3166-1 alpha-2, optionally with a subdivision (`DE`, `US-CA`). */
  readonly jurisdiction?: string;
  /** The language the policy and purposes were presented in: a BCP 47 tag (`en`, `de-CH`). */
  readonly language?: string;
}

const text = (max: number) => z.string().max(max).regex(/\S/, 'must not be blank');

// One instant, one spelling: signatures are over bytes, so `…00Z` and `…00.000Z` must not both pass.
const timestampSchema = z.iso.datetime({ precision: 3, abort: true }).refine((s) => {
  const ms = Date.parse(s);
  return Number.isFinite(ms) && new Date(ms).toISOString() === s;
}, 'must be a real instant written as toISOString() writes it');

const expectedMethod: Readonly<Record<ConsentRecordState, readonly ConsentCollectionMethod[]>> = {
  pending: ['policy-update'],
  granted: ['agent-ui', 'admin-api'],
  withdrawn: ['agent-ui', 'admin-api'],
  expired: ['expiry'],
};

/**
 * Validates a {@link ConsentRecord}: shapes and formats, unknown keys rejected,
 * and consistency between `state`, `timestamps` and `method` (a `granted` record
 * has `grantedAt`, a `withdrawn` one `withdrawnAt`, an `expired` one `expiresAt`;
 * `pending` comes only from `policy-update` and `expired` only from `expiry`).
 */
export const consentRecordSchema: z.ZodType<ConsentRecord> = z
  .strictObject({
    version: z.literal(CONSENT_RECORD_VERSION),
    recordId: z.uuid(),
    subject: z.strictObject({ deviceId: text(256), userRef: text(256).optional() }),
    controller: z.strictObject({ name: text(256), contact: text(512).optional() }),
    purposes: z
      .array(
        z.strictObject({
          scope: scopeSchema,
          purpose: text(MAX_PURPOSE_TEXT),
          legalBasis: z.literal('consent'),
          collects: text(MAX_PURPOSE_TEXT).optional(),
          retentionDays: z.int().min(1).max(MAX_RETENTION_DAYS).optional(),
        }),
      )
      .min(1)
      .refine((ps) => new Set(ps.map((p) => p.scope)).size === ps.length, 'scopes must be unique'),
    policy: z.strictObject({
      version: policyVersionSchema,
      url: z.httpUrl().max(2048).optional(),
      textSha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in lowercase hex')
        .optional(),
    }),
    state: z.enum(['pending', 'granted', 'withdrawn', 'expired']),
    timestamps: z.strictObject({
      collectedAt: timestampSchema,
      grantedAt: timestampSchema.optional(),
      expiresAt: timestampSchema.optional(),
      withdrawnAt: timestampSchema.optional(),
    }),
    method: z.enum(['agent-ui', 'admin-api', 'policy-update', 'expiry']),
    jurisdiction: z
      .string()
      .regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, 'must be ISO 3166-1 alpha-2, optionally -subdivision')
      .optional(),
    language: z
      .string()
      .max(35)
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag')
      .optional(),
  })
  .superRefine((record, ctx) => {
    const { state, timestamps: t } = record;
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', message, path: ['timestamps', path] });
    if (state === 'granted' && t.grantedAt === undefined)
      issue('grantedAt', 'a granted record needs grantedAt');
    if (state === 'withdrawn' && t.withdrawnAt === undefined) {
      issue('withdrawnAt', 'a withdrawn record needs withdrawnAt');
    }
    if (state !== 'withdrawn' && t.withdrawnAt !== undefined) {
      issue('withdrawnAt', `a ${state} record has no withdrawnAt`);
    }
    if (state === 'expired' && t.expiresAt === undefined)
      issue('expiresAt', 'an expired record needs expiresAt');
    if (state === 'pending' && (t.grantedAt !== undefined || t.expiresAt !== undefined)) {
      issue('grantedAt', 'a pending record has no grant bounds');
    }
    if (
      t.grantedAt !== undefined &&
      t.expiresAt !== undefined &&
      Date.parse(t.expiresAt) <= Date.parse(t.grantedAt)
    ) {
      issue('expiresAt', 'expiresAt must be after grantedAt');
    }
    if (!expectedMethod[state].includes(record.method)) {
      ctx.addIssue({
        code: 'custom',
        message: `a ${state} record comes from ${expectedMethod[state].join(' or ')}, not ${record.method}`,
        path: ['method'],
      });
    }
  });

/**
 * Parses an untrusted value (a stored ledger row, a receipt sent back by a
 * client) into a {@link ConsentRecord}.
 *
 * @param input - anything, typically the result of `JSON.parse`.
 * @returns the record, or a {@link ConsentRecordError} listing every failing path.
 * @example
 * ```ts
 * const parsed = parseConsentRecord(JSON.parse(row.body));
 * if (!parsed.ok) log(parsed.error.details.issues);
 * ```
 */
export function parseConsentRecord(input: unknown): Result<ConsentRecord, ConsentRecordError> {
  const parsed = consentRecordSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  const issues = toConsentIssues(parsed.error);
  return err(new ConsentRecordError(`Invalid consent record: ${describeIssues(issues)}`, issues));
}

/**
 * The canonical bytes of a record, to sign (Ed25519) or hash: RFC 8785 canonical
 * JSON in UTF-8. Two records with the same content give the same bytes whatever
 * their key order; fields outside the format are never signed because the record
 * is validated first.
 *
 * @param record - a valid record.
 * @returns the UTF-8 bytes of the canonical JSON of the record.
 * @throws {@link ConsentRecordError} when `record` is not a valid consent record.
 * @example
 * ```ts
 * const signature = crypto.sign(null, canonicalConsentRecordBytes(record), serverKey);
 * ```
 */
export function canonicalConsentRecordBytes(record: ConsentRecord): Uint8Array {
  const parsed = parseConsentRecord(record);
  if (!parsed.ok) throw parsed.error;
  return canonicalJsonBytes(parsed.value);
}
