import { z } from 'zod';
import { MAX_RETENTION_DAYS } from '../consent/consent-record.js';
import { scopeSchema } from './common.js';

const shownText = (max: number) => z.string().min(1).max(max).regex(/\S/, 'must not be blank');

/** The longest plain-language summary a policy may carry. */
export const MAX_POLICY_SUMMARY_LENGTH = 4000;

/**
 * What a policy tells the person about one scope: the purpose, what is collected and how long it
 * is kept. Consent records and receipts carry these words as published.
 */
export const policyPurposeSchema = z.strictObject({
  /** Why the scope's data is collected, in plain language. */
  purpose: shownText(2000),
  /** What is collected under the scope (e.g. "names of the applications you use, and for how long"). */
  collects: shownText(2000).optional(),
  /** How many days the scope's data is kept. */
  retentionDays: z.int().min(1).max(MAX_RETENTION_DAYS).optional(),
});

/** What a policy tells the person about one scope. */
export type PolicyPurpose = z.infer<typeof policyPurposeSchema>;

/** A policy's {@link PolicyPurpose} per scope, keyed by scope name. */
export const policyPurposesSchema = z.record(scopeSchema, policyPurposeSchema);

/** A policy's purposes per scope. */
export type PolicyPurposes = z.infer<typeof policyPurposesSchema>;

/** A policy's short summary in plain language, shown above its full text. */
export const policySummarySchema = shownText(MAX_POLICY_SUMMARY_LENGTH);
