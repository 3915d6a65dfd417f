import { InvalidArgumentError } from '@fieldline/core';
import type { IngestionStep } from './pipeline.js';

function indexOfStep(steps: readonly IngestionStep[], name: string): number {
  const index = steps.findIndex((step) => step.name === name);
  if (index === -1) {
    throw new InvalidArgumentError(
      `No ingestion step is named "${name}"; the steps are ${steps.map((s) => s.name).join(', ')}.`,
    );
  }
  return index;
}

/**
 * Returns a copy of `steps` with `step` inserted right after the step named `after`.
 *
 * @param steps - the list to extend (not modified).
 * @param after - name of an existing step.
 * @param step - the step to insert.
 * @returns the new list.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when no step is named
 *   `after`.
 * @example
 * ```ts
 * insertStepAfter(defaultIngestionSteps(deps), 'enrich-events', geoStep);
 * ```
 */
export function insertStepAfter(
  steps: readonly IngestionStep[],
  after: string,
  step: IngestionStep,
): IngestionStep[] {
  const index = indexOfStep(steps, after);
  return [...steps.slice(0, index + 1), step, ...steps.slice(index + 1)];
}

/**
 * Returns a copy of `steps` with `step` inserted right before the step named `before`.
 *
 * @param steps - the list to extend (not modified).
 * @param before - name of an existing step.
 * @param step - the step to insert.
 * @returns the new list.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when no step is named
 *   `before`.
 * @example
 * ```ts
 * insertStepBefore(defaultIngestionSteps(deps), 'store-events', dropTestEvents);
 * ```
 */
export function insertStepBefore(
  steps: readonly IngestionStep[],
  before: string,
  step: IngestionStep,
): IngestionStep[] {
  const index = indexOfStep(steps, before);
  return [...steps.slice(0, index), step, ...steps.slice(index)];
}

/**
 * Returns a copy of `steps` with the step named `name` replaced by `step`.
 *
 * @param steps - the list (not modified).
 * @param name - name of an existing step.
 * @param step - its replacement.
 * @returns the new list.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when no step is named
 *   `name`.
 * @example
 * ```ts
 * replaceStep(steps, 'rate-limit', createRateLimitStep({ capacity: 100, refillPerSecond: 50 }));
 * ```
 */
export function replaceStep(
  steps: readonly IngestionStep[],
  name: string,
  step: IngestionStep,
): IngestionStep[] {
  const index = indexOfStep(steps, name);
  return [...steps.slice(0, index), step, ...steps.slice(index + 1)];
}

/**
 * Returns a copy of `steps` without the step named `name`.
 *
 * @param steps - the list (not modified).
 * @param name - name of an existing step.
 * @returns the new list.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when no step is named
 *   `name`.
 * @example
 * ```ts
 * removeStep(steps, 'load-shedding'); // the host already limits concurrency
 * ```
 */
export function removeStep(steps: readonly IngestionStep[], name: string): IngestionStep[] {
  const index = indexOfStep(steps, name);
  return [...steps.slice(0, index), ...steps.slice(index + 1)];
}
