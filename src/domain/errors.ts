import type { z } from 'zod';
import { AppError } from '../errors/app-error.js';

/**
 * One field problem in a `400 validation_failed` response.
 *
 * @example
 * const e: FieldError = { path: 'body.name', message: 'Required', code: 'invalid_type' };
 */
export interface FieldError {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}

/**
 * Turns zod issues into field errors, prefixing paths with `where` (`body`, `query`, `params`, `input`).
 * Unknown keys of strict objects become one error per key.
 *
 * @example
 * fieldErrors(result.error, 'body'); // [{ path: 'body.name', message: 'Required', code: 'invalid_type' }]
 */
export function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: `${base}.${key}`, message: 'Unknown field', code: 'unrecognized_key' });
      }
      continue;
    }
    out.push({ path: base, message: issue.message, code: issue.code });
  }
  return out.slice(0, 50);
}

/**
 * The `400 validation_failed` error for a failed parse.
 *
 * @example
 * if (!parsed.success) throw validationError(parsed.error, 'body');
 */
export function validationError(error: z.ZodError, where: string): AppError {
  return new AppError(400, 'validation_failed', `Invalid ${where}`, fieldErrors(error, where));
}
