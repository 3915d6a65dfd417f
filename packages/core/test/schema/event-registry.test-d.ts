import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { Result } from '../../src/result.js';
import type { EventEnvelope } from '../../src/schema/envelope.js';
import { createEventRegistry } from '../../src/schema/event-registry.js';
import { defineEventType, type EventDataOf } from '../../src/schema/event-type.js';
import type { EventValidationError } from '../../src/schema/schema-errors.js';

describe('event registry types', () => {
  it('types validateData per built-in event type', () => {
    const registry = createEventRegistry();
    const result = registry.validateData('activity.network.volume', {});
    expectTypeOf(result).toEqualTypeOf<
      Result<
        { interface?: string | undefined; intervalMs: number; bytesIn: number; bytesOut: number },
        EventValidationError
      >
    >();
    // @ts-expect-error: not a registered type
    registry.validateData('no.such.type', {});
  });

  it('adds integrator types to the map on register', () => {
    const backup = defineEventType({
      type: 'backup.finished',
      scope: 'operational',
      description: 'A backup ended.',
      data: z.object({ bytes: z.number() }),
    });
    expectTypeOf<EventDataOf<typeof backup>>().toEqualTypeOf<{ bytes: number }>();
    const registry = createEventRegistry().register(backup);
    const result = registry.validateData('backup.finished', {});
    if (result.ok) expectTypeOf(result.value.bytes).toBeNumber();
  });

  it('discriminates validated envelopes on type', () => {
    const result = createEventRegistry().validate({});
    if (result.ok && result.value.type === 'activity.system.active') {
      expectTypeOf(result.value).toEqualTypeOf<
        EventEnvelope<'activity.system.active', { idleForMs: number }>
      >();
    }
  });

  it('has no types without built-ins', () => {
    const registry = createEventRegistry({ builtIns: false });
    // @ts-expect-error: nothing registered
    registry.validateData('activity.system.active', {});
  });
});
