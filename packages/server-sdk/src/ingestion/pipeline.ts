import { InvalidArgumentError } from '@fieldline/core';
import {
  createIngestionContext,
  type IngestionContext,
  type IngestionInput,
  type IngestionResult,
} from './ingestion-context.js';

/** Runs the rest of the pipeline; resolves when every later step has finished. */
export type IngestionNext = () => Promise<void>;

/**
 * One step of the ingestion pipeline, middleware style: do some work, `await next()` to run the
 * later steps, and optionally do more after they return (release a slot, time the request,
 * catch a storage failure). Throw an `HttpError` to answer the request with an error.
 */
export interface IngestionStep {
  /** A unique name, used to insert, replace or remove steps (`insertStepAfter`, …). */
  readonly name: string;
  /**
   * Runs the step.
   *
   * @param ctx - the request's state.
   * @param next - the later steps; call it at most once (not calling it ends the pipeline).
   */
  run(ctx: IngestionContext, next: IngestionNext): Promise<void>;
}

/**
 * Makes a step that runs `fn` and then the later steps: the shape of most custom steps
 * (enrichment, filters).
 *
 * @param name - unique step name.
 * @param fn - the work; throw an `HttpError` to stop the request.
 * @returns the step.
 * @example
 * ```ts
 * const steps = insertStepAfter(defaultIngestionSteps(deps), 'enrich-events',
 *   ingestionStep('geo', async (ctx) => { for (const e of pendingEntries(ctx)) e.enriched!.data.country = 'FR'; }));
 * ```
 */
export function ingestionStep(
  name: string,
  fn: (ctx: IngestionContext) => Promise<void> | void,
): IngestionStep {
  return {
    name,
    async run(ctx, next) {
      await fn(ctx);
      await next();
    },
  };
}

/** A composed list of steps. Create once and share: stateful steps (limits) live in it. */
export interface IngestionPipeline {
  /** The steps, in order. */
  readonly steps: readonly IngestionStep[];
  /**
   * Runs every step on a context.
   *
   * @param ctx - the request's state.
   * @throws whatever a step throws (an `HttpError` for answers the client can act on).
   */
  run(ctx: IngestionContext): Promise<void>;
}

/**
 * Composes steps into a pipeline.
 *
 * @param steps - the steps in order, usually {@link defaultIngestionSteps} with changes.
 * @returns the pipeline.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when two steps share
 *   a name.
 * @example
 * ```ts
 * const pipeline = createIngestionPipeline(defaultIngestionSteps({ db, serverIdentity, consent, audit }));
 * ```
 */
export function createIngestionPipeline(steps: readonly IngestionStep[]): IngestionPipeline {
  const names = new Set<string>();
  for (const step of steps) {
    if (names.has(step.name)) {
      throw new InvalidArgumentError(`Two ingestion steps are named "${step.name}".`);
    }
    names.add(step.name);
  }
  const frozen = Object.freeze([...steps]);
  return {
    steps: frozen,
    run(ctx) {
      let lastCalled = -1;
      const dispatch = async (index: number): Promise<void> => {
        if (index <= lastCalled) {
          throw new InvalidArgumentError(
            `Ingestion step "${frozen[index - 1]?.name}" called next() more than once.`,
          );
        }
        lastCalled = index;
        const step = frozen[index];
        if (step === undefined) return;
        await step.run(ctx, () => dispatch(index + 1));
      };
      return dispatch(0);
    },
  };
}

/**
 * Runs one `POST /v1/events` request through a pipeline.
 *
 * @param pipeline - from {@link createIngestionPipeline}.
 * @param input - the authenticated device and the raw body.
 * @returns per-event results and counts; the route adds `consent` and `commands`.
 * @throws `HttpError` for a request the client must change or retry (413, 429, 503, 400, 401, 409);
 *   other errors are server faults. Throws
 *   {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when no step set a response
 *   (the results step is missing).
 * @example
 * ```ts
 * const result = await runIngestion(pipeline, { device, rawBody });
 * reply(200, { ...result, consent, commands });
 * ```
 */
export async function runIngestion(
  pipeline: IngestionPipeline,
  input: IngestionInput,
): Promise<IngestionResult> {
  const ctx = createIngestionContext(input);
  await pipeline.run(ctx);
  if (ctx.response === undefined) {
    throw new InvalidArgumentError(
      'The ingestion pipeline produced no response; keep the "build-results" step at its end.',
    );
  }
  return ctx.response;
}
