import { v7 as uuidv7 } from 'uuid';
import { type Random, systemRandom } from '../contracts/random.js';
import { InvalidArgumentError } from '../errors.js';
import { describeIssues, toConsentIssues } from './consent-errors.js';
import type { ConsentEvent } from './consent-event.js';
import {
  CONSENT_RECORD_VERSION,
  type ConsentCollectionMethod,
  type ConsentRecord,
  type ConsentRecordController,
  type ConsentRecordState,
  type ConsentRecordSubject,
  type ConsentRecordTimestamps,
  consentRecordSchema,
} from './consent-record.js';
import type { ConsentState } from './consent-state.js';
import { transitionConsentOrThrow } from './consent-transition.js';

/** What a policy told the subject about one scope, beyond its purpose text. */
export interface ConsentPurposeInput {
  /** The purpose as shown to the subject. */
  readonly purpose: string;
  /** What is collected under the scope, as shown to the subject. */
  readonly collects?: string;
  /** How many days the scope's data is kept, as the policy declares. */
  readonly retentionDays?: number;
}

/** The policy facts a record needs that the consent state does not carry. */
export interface ConsentRecordPolicyInput {
  /**
   * What was shown to the subject for each scope the policy asks for, keyed by
   * scope: the purpose text alone, or the purpose with what is collected and
   * for how long it is kept. Every scope a record covers needs one: consent to
   * an undescribed purpose is not informed consent.
   */
  readonly purposes: Readonly<Record<string, string | ConsentPurposeInput>>;
  /** Where the policy text is published. */
  readonly url?: string;
  /** SHA-256 of the policy text, lowercase hex (`policyTextSha256`). */
  readonly textSha256?: string;
}

/** Options of {@link createConsentRecord}. */
export interface CreateConsentRecordOptions {
  /** The state before the event. */
  readonly from: ConsentState;
  /** The event to record; it must be legal from `from`. */
  readonly event: ConsentEvent;
  /** Who the consent is about. */
  readonly subject: ConsentRecordSubject;
  /** Who is responsible for the processing. */
  readonly controller: ConsentRecordController;
  /** The policy's purpose texts and URL (its version comes from the state). */
  readonly policy: ConsentRecordPolicyInput;
  /**
   * How a grant or withdrawal was collected. Required for `grant` and `withdraw`;
   * must be left out for `policy_published` and `expire`.
   *
   * @default 'policy-update' for `policy_published`, 'expiry' for `expire`
   */
  readonly method?: Extract<ConsentCollectionMethod, 'agent-ui' | 'admin-api'>;
  /**
   * When the event happened, epoch ms. Required for `policy_published`, which
   * carries no time; for other events it must be left out or equal `event.at`.
   *
   * @default event.at
   */
  readonly at?: number;
  /** The jurisdiction whose law applies (`DE`, `US-CA`). */
  readonly jurisdiction?: string;
  /** The language the policy was presented in (BCP 47). */
  readonly language?: string;
  /**
   * The record's id.
   *
   * @default a UUIDv7 from the event time and `random`
   */
  readonly recordId?: string;
  /**
   * Randomness for the generated record id.
   *
   * @default systemRandom
   */
  readonly random?: Random;
}

/**
 * Builds the {@link ConsentRecord} of one consent transition, for the
 * append-only ledger and for receipts. A record covers the purposes the event is
 * about: the granted scopes for a grant; the scopes that stopped for a
 * withdrawal or an expiry; every purpose of the policy for a new policy version
 * or a refusal. Pure: time comes from the event (or `at`), randomness from
 * `random`.
 *
 * @param options - the transition, the parties, the policy texts and how consent was collected.
 * @returns a valid record (it passes `parseConsentRecord`).
 * @throws {@link ConsentTransitionError} when `event` is illegal from `from` (run `transition` first).
 * @throws {@link InvalidArgumentError} when `method` or `at` is missing or inconsistent with the
 *   event, a purpose text is missing, or a field breaks the record format.
 * @example
 * ```ts
 * const record = createConsentRecord({
 *   from: { status: 'pending', policyVersion: 3 },
 *   event: { type: 'grant', policyVersion: 3, scopes: ['activity'], at: clock.now() },
 *   subject: { deviceId },
 *   controller: { name: 'Acme GmbH', contact: 'privacy@acme.example' },
 *   policy: { purposes: { activity: 'Measure time spent per application' } },
 *   method: 'agent-ui',
 * });
 * ```
 */
export function createConsentRecord(options: CreateConsentRecordOptions): ConsentRecord {
  const { from, event, policy } = options;
  const to = transitionConsentOrThrow(from, event);
  if (to.status === 'unknown') {
    // transition never leads back to unknown; kept so the types below narrow.
    throw new InvalidArgumentError('A consent transition cannot lead to the unknown state');
  }
  const atMs = eventTime(event, options.at);
  const method = collectionMethod(event, options.method);
  const iso = (ms: number) => new Date(ms).toISOString();

  let state: ConsentRecordState;
  let scopes: readonly string[];
  let timestamps: ConsentRecordTimestamps = { collectedAt: iso(atMs) };
  const grantBounds = (s: ConsentState): Partial<ConsentRecordTimestamps> =>
    s.status !== 'granted'
      ? {}
      : s.expiresAt === undefined
        ? { grantedAt: iso(s.grantedAt) }
        : { grantedAt: iso(s.grantedAt), expiresAt: iso(s.expiresAt) };

  switch (event.type) {
    case 'policy_published':
      state = 'pending';
      scopes = policyScopes(policy);
      break;
    case 'grant':
      state = 'granted';
      scopes = to.status === 'granted' ? to.scopes : [];
      timestamps = { ...timestamps, ...grantBounds(to) };
      break;
    case 'withdraw':
      state = 'withdrawn';
      if (from.status === 'granted') {
        const kept = new Set(to.status === 'granted' ? to.scopes : []);
        scopes = from.scopes.filter((scope) => !kept.has(scope));
      } else {
        // A refusal from pending or expired: the subject said no to the whole policy.
        scopes = policyScopes(policy);
      }
      timestamps = { ...timestamps, ...grantBounds(from), withdrawnAt: iso(event.at) };
      break;
    case 'expire':
      state = 'expired';
      scopes = from.status === 'granted' ? from.scopes : [];
      timestamps = { ...timestamps, ...grantBounds(from) };
      break;
  }

  const missing = scopes.filter((scope) => purposeOf(policy, scope) === undefined);
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `policy.purposes has no text for scope(s): ${missing.join(', ')}`,
      {
        missing,
      },
    );
  }
  const candidate: ConsentRecord = {
    version: CONSENT_RECORD_VERSION,
    recordId:
      options.recordId ??
      uuidv7({ msecs: atMs, random: (options.random ?? systemRandom).bytes(16) }),
    subject: options.subject,
    controller: options.controller,
    purposes: scopes.map((scope) => {
      const given = purposeOf(policy, scope) as ConsentPurposeInput;
      return {
        scope,
        purpose: given.purpose,
        legalBasis: 'consent' as const,
        ...(given.collects === undefined ? {} : { collects: given.collects }),
        ...(given.retentionDays === undefined ? {} : { retentionDays: given.retentionDays }),
      };
    }),
    policy: {
      version: to.policyVersion,
      ...(policy.url === undefined ? {} : { url: policy.url }),
      ...(policy.textSha256 === undefined ? {} : { textSha256: policy.textSha256 }),
    },
    state,
    timestamps,
    method,
    ...(options.jurisdiction === undefined ? {} : { jurisdiction: options.jurisdiction }),
    ...(options.language === undefined ? {} : { language: options.language }),
  };
  const parsed = consentRecordSchema.safeParse(candidate);
  if (!parsed.success) {
    const issues = toConsentIssues(parsed.error);
    throw new InvalidArgumentError(`Cannot build a consent record: ${describeIssues(issues)}`, {
      issues,
    });
  }
  return parsed.data;
}

function eventTime(event: ConsentEvent, at: number | undefined): number {
  if (event.type === 'policy_published') {
    if (at === undefined || !Number.isSafeInteger(at) || at < 0) {
      throw new InvalidArgumentError(
        'createConsentRecord needs `at` (epoch ms) for a policy_published event',
      );
    }
    return at;
  }
  if (at !== undefined && at !== event.at) {
    throw new InvalidArgumentError(
      `\`at\` (${at}) differs from the event's own time (${event.at})`,
    );
  }
  return event.at;
}

function collectionMethod(
  event: ConsentEvent,
  method: CreateConsentRecordOptions['method'],
): ConsentCollectionMethod {
  if (event.type === 'policy_published' || event.type === 'expire') {
    if (method !== undefined) {
      throw new InvalidArgumentError(`A ${event.type} event is not collected through ${method}`);
    }
    return event.type === 'expire' ? 'expiry' : 'policy-update';
  }
  if (method !== 'agent-ui' && method !== 'admin-api') {
    throw new InvalidArgumentError(
      `createConsentRecord needs method 'agent-ui' or 'admin-api' for a ${event.type} event`,
    );
  }
  return method;
}

// A bare string is the purpose text alone; anything else that is not a purpose object counts
// as missing, so a caller's mistake is reported rather than written into a record.
function purposeOf(
  policy: ConsentRecordPolicyInput,
  scope: string,
): ConsentPurposeInput | undefined {
  if (!Object.hasOwn(policy.purposes, scope)) return undefined;
  const given = policy.purposes[scope];
  if (typeof given === 'string') return { purpose: given };
  if (typeof given === 'object' && given !== null && typeof given.purpose === 'string') {
    return given;
  }
  return undefined;
}

function policyScopes(policy: ConsentRecordPolicyInput): string[] {
  return Object.keys(policy.purposes).sort();
}
