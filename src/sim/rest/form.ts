/**
 * Body validation with zod schemas, reported as Discord's 50035 nested field errors (codes such as
 * BASE_TYPE_REQUIRED, BASE_TYPE_MAX_LENGTH, NUMBER_TYPE_MAX, BASE_TYPE_CHOICES).
 */
import { z } from 'zod';
import { FormErrors, type FieldErrors } from './errors.js';

/**
 * A snowflake string ("Value "x" is not snowflake." otherwise).
 *
 * @example
 * z.object({ recipient_id: snowflake });
 */
export const snowflake = z.string().regex(/^\d{1,20}$/, 'snowflake');

/**
 * Parses `body` with `schema`, or throws 50035 with one entry per failing field.
 *
 * @example
 * const body = parseForm(z.object({ content: z.string().max(2000).optional() }), req.body);
 */
export function parseForm<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const form = new FormErrors();
  for (const issue of result.error.issues) {
    const [code, message] = describe(issue);
    form.add(
      issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
      code,
      message,
    );
  }
  form.throwIfAny();
  throw new Error('unreachable');
}

/**
 * The nested errors of a failed parse (for callers that merge errors).
 *
 * @example
 * formErrorsOf(schema, body); // null when valid
 */
export function formErrorsOf(schema: z.ZodType, body: unknown): FieldErrors | null {
  const result = schema.safeParse(body ?? {}, { reportInput: true });
  if (result.success) return null;
  const form = new FormErrors();
  for (const issue of result.error.issues) {
    const [code, message] = describe(issue);
    form.add(
      issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
      code,
      message,
    );
  }
  return form.toJSON();
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function describe(issue: z.core.$ZodIssue): [string, string] {
  const params = (issue as { params?: { discord?: string; message?: string } }).params;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return ['BASE_TYPE_REQUIRED', 'This field is required'];
      switch (issue.expected) {
        case 'string':
          return ['STRING_TYPE_CONVERT', `Could not interpret "${show(issue.input)}" as string.`];
        case 'number':
        case 'int':
          return ['NUMBER_TYPE_COERCE', `Value "${show(issue.input)}" is not int.`];
        case 'boolean':
          return ['BOOLEAN_TYPE_CONVERT', `Could not interpret "${show(issue.input)}" as boolean.`];
        case 'array':
          return ['LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType'];
        case 'object':
        case 'record':
          return ['DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType'];
        default:
          return ['BASE_TYPE_INVALID', `Invalid value "${show(issue.input)}".`];
      }
    }
    case 'too_big':
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set') {
        return ['BASE_TYPE_MAX_LENGTH', `Must be ${String(issue.maximum)} or fewer in length.`];
      }
      return ['NUMBER_TYPE_MAX', `int value should be less than or equal to ${String(issue.maximum)}.`];
    case 'too_small':
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set') {
        return ['BASE_TYPE_MIN_LENGTH', `Must be ${String(issue.minimum)} or more in length.`];
      }
      return ['NUMBER_TYPE_MIN', `int value should be greater than or equal to ${String(issue.minimum)}.`];
    case 'invalid_value':
      return ['BASE_TYPE_CHOICES', `Value must be one of ${issue.values.map((v) => show(v)).join(', ')}.`];
    case 'invalid_format':
      if (issue.message === 'snowflake')
        return ['NUMBER_TYPE_COERCE', `Value "${show(issue.input)}" is not snowflake.`];
      return ['BASE_TYPE_INVALID', issue.message];
    case 'custom':
      return [params?.discord ?? 'BASE_TYPE_INVALID', params?.message ?? issue.message];
    case 'invalid_union':
      return ['BASE_TYPE_INVALID', `Invalid value "${show(issue.input)}".`];
    default:
      return ['BASE_TYPE_INVALID', issue.message];
  }
}
