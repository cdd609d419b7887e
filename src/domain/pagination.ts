import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/**
 * Every list endpoint pages the same way: `?limit=` (1–200, default 50) and an opaque `?cursor=` taken
 * from the previous page's `nextCursor` (null on the last page). Cursors are keyset positions, so pages
 * stay stable while rows are added.
 *
 * @example
 * query: z.strictObject({ ...pageQueryShape, action: z.string().optional() }),
 */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page' }),
};

/**
 * The envelope of a list response.
 *
 * @example
 * response: pageSchema(userSchema, 'UserPage'),
 */
export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });
}

/**
 * Encodes a keyset position as an opaque cursor.
 *
 * @example
 * encodeCursor([1732500000000, 42]); // 'WzE3MzI1MDAwMDAwMDAsNDJd'
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} into a position of the expected shape (`'s'` string, `'n'`
 * number per element); anything else is a `400 invalid_cursor`.
 *
 * @example
 * const [id] = decodeCursor(cursor, 'n') as [number];
 */
export function decodeCursor(cursor: string, shape: string): (string | number)[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const ok =
    Array.isArray(value) &&
    value.length === shape.length &&
    value.every((v, i) =>
      shape[i] === 'n' ? Number.isSafeInteger(v) : typeof v === 'string' && v.length <= 100,
    );
  if (!ok) throw new AppError(400, 'invalid_cursor', 'The cursor is not one this API issued');
  return value as (string | number)[];
}
