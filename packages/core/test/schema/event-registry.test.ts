import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createEventIdGenerator } from '../../src/schema/event-id.js';
import { createEventRegistry } from '../../src/schema/event-registry.js';
import { defineEventType } from '../../src/schema/event-type.js';
import { isEventDefinitionError, isEventValidationError } from '../../src/schema/schema-errors.js';

const nextId = createEventIdGenerator();

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: nextId(),
    type: 'activity.app.launched',
    occurredAt: '2026-11-21T10:00:00.000Z',
    seq: 1,
    scope: 'activity',
    data: { app: 'org.example.editor', pid: 4242 },
    ...overrides,
  };
}

describe('event registry: validate', () => {
  const registry = createEventRegistry();

  it('accepts a well-formed built-in event and returns a copy', () => {
    const input = event();
    const result = registry.validate(input);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value).toEqual(input);
      expect(result.value).not.toBe(input);
    }
  });

  it('accepts RFC 3339 timestamps with an offset', () => {
    expect(registry.validate(event({ occurredAt: '2026-11-21T11:00:00+01:00' })).ok).toBe(true);
  });

  it('lists every failing path, not only the first', () => {
    const result = registry.validate(
      event({ id: 'nope', seq: -1, occurredAt: 'yesterday', data: { app: '', pid: 1.5 } }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('invalid_event');
      const paths = result.error.issues.map((issue) => issue.path).sort();
      expect(paths).toEqual(['data.app', 'data.pid', 'id', 'occurredAt', 'seq']);
      expect(isEventValidationError(result.error)).toBe(true);
      expect(result.error.toJSON().details).toEqual({ issues: result.error.issues });
    }
  });

  it('rejects unknown keys in data and in the envelope', () => {
    const result = registry.validate(
      event({ extra: true, data: { app: 'x', windowTitle: 'Quarterly results.xlsx' } }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const codes = result.error.issues.map((issue) => `${issue.path}:${issue.code}`).sort();
      expect(codes).toEqual([':unrecognized_keys', 'data:unrecognized_keys']);
    }
  });

  it('rejects an event whose scope is not the one its type needs', () => {
    const result = registry.validate(event({ scope: 'network' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.issues.map((issue) => issue.path)).toEqual(['scope']);
  });

  it('reports an unregistered but well-formed type as unknown_event_type', () => {
    const result = registry.validate(event({ type: 'custom.thing', data: {} }));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('unknown_event_type');
      expect(result.error.issues[0]?.path).toBe('type');
    }
  });

  it.each([null, 42, 'event', [], undefined])(
    'rejects a non-object (%s) without throwing',
    (input) => {
      const result = registry.validate(input);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('invalid_event');
    },
  );

  it('rejects a malformed type name as invalid_event', () => {
    const result = registry.validate(event({ type: 'NoDots' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('invalid_event');
  });

  it('rejects a non-v7 UUID as id', () => {
    const result = registry.validate(event({ id: '3d6f0a4e-8b1c-4c2d-9e3f-1a2b3c4d5e6f' }));
    expect(result.ok).toBe(false);
  });
});

describe('event registry: validateData', () => {
  const registry = createEventRegistry();

  it('validates data alone and prefixes paths with data', () => {
    expect(
      registry.validateData('activity.network.volume', {
        intervalMs: 1000,
        bytesIn: 1,
        bytesOut: 2,
      }).ok,
    ).toBe(true);
    const result = registry.validateData('activity.network.volume', { intervalMs: 0, bytesIn: -1 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.issues.map((issue) => issue.path).sort()).toEqual([
        'data.bytesIn',
        'data.bytesOut',
        'data.intervalMs',
      ]);
    }
  });

  it('reports an unknown type', () => {
    const untyped = registry as unknown as {
      validateData(type: string, data: unknown): { ok: boolean };
    };
    expect(untyped.validateData('nope.nope', {}).ok).toBe(false);
  });
});

describe('event registry: register', () => {
  const backupFinished = defineEventType({
    type: 'backup.finished',
    scope: 'operational',
    description: 'A backup run ended.',
    data: z.object({
      bytes: z.number().int().nonnegative(),
      snapshot: z.strictObject({ id: z.string() }),
    }),
  });

  it('adds integrator types next to the built-ins', () => {
    const registry = createEventRegistry().register(backupFinished);
    expect(registry.has('backup.finished')).toBe(true);
    expect(registry.has('activity.app.launched')).toBe(true);
    expect(registry.list()).toHaveLength(9);
    const result = registry.validate(
      event({
        type: 'backup.finished',
        scope: 'operational',
        data: { bytes: 10, snapshot: { id: 'a' } },
      }),
    );
    expect(result.ok).toBe(true);
  });

  it('starts empty without built-ins', () => {
    const registry = createEventRegistry({ builtIns: false });
    expect(registry.list()).toEqual([]);
    expect(registry.validate(event()).ok).toBe(false);
  });

  it('refuses a duplicate name', () => {
    const registry = createEventRegistry().register(backupFinished);
    let thrown: unknown;
    try {
      registry.register(backupFinished);
    } catch (error) {
      thrown = error;
    }
    expect(isEventDefinitionError(thrown)).toBe(true);
    expect((thrown as { code: string }).code).toBe('duplicate_event_type');
  });
});
