import { createHash } from 'node:crypto';

/**
 * The digest consent records carry as `policy.textSha256`: SHA-256 of the policy text's UTF-8
 * bytes, in lowercase hex. Anyone holding a receipt and the published text can recompute it
 * (`sha256sum policy.txt`) to check it is the text the subject was shown.
 *
 * @param text - the policy text exactly as published.
 * @returns 64 lowercase hex characters.
 * @example
 * ```ts
 * policyTextSha256('We record app activity.') === receipt.record.policy.textSha256;
 * ```
 */
export function policyTextSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
