import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@fieldline/core';

const VERSION = 'v1';

function requireKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new InvalidArgumentError('webhookSecretKey must be exactly 32 bytes.', {
      length: key instanceof Uint8Array ? key.length : null,
    });
  }
  return Buffer.from(key);
}

/**
 * Keeps webhook endpoint secrets encrypted at rest: AES-256-GCM under the server's webhook key,
 * a fresh 96-bit IV per secret, and the endpoint id as associated data (a ciphertext copied to
 * another endpoint's row does not open).
 */
export interface WebhookSecretBox {
  /**
   * Encrypts a secret for storage.
   *
   * @param endpointId - the endpoint the secret belongs to.
   * @param secret - the `whsec_…` secret.
   * @returns `v1.<iv>.<tag>.<ciphertext>`, base64url parts.
   * @example
   * ```ts
   * const stored = box.seal(endpointId, secret);
   * ```
   */
  seal(endpointId: string, secret: string): string;
  /**
   * Decrypts a stored secret.
   *
   * @param endpointId - the endpoint it was sealed for.
   * @param stored - what {@link WebhookSecretBox.seal} returned.
   * @returns the secret.
   * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when the value is
   *   malformed, or was sealed under another key or for another endpoint.
   * @example
   * ```ts
   * const secret = box.open(endpointId, row.secret_ciphertext);
   * ```
   */
  open(endpointId: string, stored: string): string;
}

/**
 * Creates the secret box over a 32-byte key.
 *
 * @param key - the webhook key (`webhookSecretKey`).
 * @returns the box.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when the key is not
 *   32 bytes.
 * @example
 * ```ts
 * const box = createWebhookSecretBox(randomBytes(32));
 * ```
 */
export function createWebhookSecretBox(key: Uint8Array): WebhookSecretBox {
  const keyBytes = requireKey(key);
  return {
    seal(endpointId, secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyBytes, iv);
      cipher.setAAD(Buffer.from(endpointId));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'));
      return [VERSION, ...parts].join('.');
    },
    open(endpointId, stored) {
      const [version, iv, tag, ciphertext] = stored.split('.');
      if (
        version !== VERSION ||
        iv === undefined ||
        tag === undefined ||
        ciphertext === undefined
      ) {
        throw new InvalidArgumentError('Not a sealed webhook secret.', {});
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyBytes, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(endpointId));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new InvalidArgumentError(
          'The webhook secret does not open under this key (was the webhook key changed?).',
          { endpointId },
        );
      }
    },
  };
}
