import type { z } from 'zod';

// The structural parts of zod 4's schema definitions the walk reads.
interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly catchall?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly items?: readonly z.ZodType[];
  readonly rest?: z.ZodType | null;
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly getter?: () => z.ZodType;
}

/** What {@link walkSchema} reports for each object schema it meets. @internal */
export interface ObjectVisit {
  /** Dotted path of the object (`''` at the root; `[]` array items, `*` record values). */
  readonly path: string;
  /** The object's own keys. */
  readonly keys: readonly string[];
  /** True when unknown keys are rejected (`z.strictObject` / `.strict()`). */
  readonly strict: boolean;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/**
 * Walks a zod 4 schema through objects, arrays, records, unions, tuples,
 * intersections, pipes, lazies and one-child wrappers (optional, nullable,
 * default…), calling `onObject` for every object schema. Cycles through
 * `z.lazy` are visited once.
 * @internal
 */
export function walkSchema(root: z.ZodType, onObject: (visit: ObjectVisit) => void): void {
  const seen = new Set<z.ZodType>();
  const visit = (schema: z.ZodType | null | undefined, path: string): void => {
    if (!schema || seen.has(schema)) return;
    seen.add(schema);
    const def = defOf(schema);
    switch (def.type) {
      case 'object': {
        const shape = def.shape ?? {};
        const strict = def.catchall !== undefined && defOf(def.catchall).type === 'never';
        onObject({ path, keys: Object.keys(shape), strict });
        for (const [key, value] of Object.entries(shape)) {
          visit(value, path === '' ? key : `${path}.${key}`);
        }
        return;
      }
      case 'array':
        visit(def.element, `${path}[]`);
        return;
      case 'record':
        visit(def.valueType, `${path}.*`);
        return;
      case 'union':
        for (const option of def.options ?? []) visit(option, path);
        return;
      case 'tuple':
        for (const item of def.items ?? []) visit(item, `${path}[]`);
        visit(def.rest, `${path}[]`);
        return;
      case 'intersection':
        visit(def.left, path);
        visit(def.right, path);
        return;
      case 'pipe':
        visit(def.in, path);
        visit(def.out, path);
        return;
      case 'lazy':
        visit(def.getter?.(), path);
        return;
      default:
        visit(def.innerType, path);
    }
  };
  visit(root, '');
}
