import { InvalidArgumentError } from '@fieldline/core';
import { HttpError } from '../../http/http-error.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createSizeLimitStep}. */
export interface SizeLimitStepOptions {
  /**
   * Largest accepted body, in bytes (the sealed JSON body, after any gzip decoding).
   * @default 1_048_576 (1 MiB)
   */
  readonly maxBytes?: number;
}

/**
 * Refuses bodies larger than `maxBytes` with 413 `payload_too_large`, before any parsing.
 * The HTTP adapter should also stop reading at the same limit; this step is the guarantee.
 *
 * @param options - the limit.
 * @returns the step, named `size-limit`.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `maxBytes` is
 *   not a positive integer.
 * @example
 * ```ts
 * replaceStep(steps, 'size-limit', createSizeLimitStep({ maxBytes: 4 * 1024 * 1024 }));
 * ```
 */
export function createSizeLimitStep(options: SizeLimitStepOptions = {}): IngestionStep {
  const maxBytes = options.maxBytes ?? 1_048_576;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new InvalidArgumentError('maxBytes must be a positive integer.', { maxBytes });
  }
  return {
    name: 'size-limit',
    async run(ctx, next) {
      if (ctx.rawBody.byteLength > maxBytes) {
        throw new HttpError(
          'payload_too_large',
          `The body is ${ctx.rawBody.byteLength} bytes; the limit is ${maxBytes}. Send smaller batches.`,
          { details: { bytes: ctx.rawBody.byteLength, maxBytes } },
        );
      }
      await next();
    },
  };
}
