/**
 * A minimal JSON Schema (2020-12 subset) validator for the OpenAPI walk test — written by hand so the test
 * checks the *document*, not zod against itself. Supports $ref (local), type, properties, required,
 * additionalProperties, propertyNames, items, enum, const, anyOf, oneOf, allOf, minimum, maximum,
 * exclusiveMinimum/Maximum, minLength, maxLength, pattern, minItems, maxItems, format: date-time.
 */
type Schema = Record<string, unknown> | boolean;

export function validateJson(
  schema: Schema,
  value: unknown,
  root: Record<string, unknown>,
  path = '$',
): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed`];
  const s = schema;
  const errs: string[] = [];
  if (typeof s.$ref === 'string') {
    const target = s.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], root);
    if (target === undefined) return [`${path}: unresolved $ref ${s.$ref}`];
    errs.push(...validateJson(target as Schema, value, root, path));
  }
  const typeOf = (v: unknown): string =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const t = typeOf(value);
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer')))
      return [...errs, `${path}: expected ${types.join('|')}, got ${t}`];
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value))
    errs.push(`${path}: expected const ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push(`${path}: ${JSON.stringify(value)} not in enum`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errs.push(`${path}: below minimum`);
    if (typeof s.maximum === 'number' && value > s.maximum) errs.push(`${path}: above maximum`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum)
      errs.push(`${path}: not above exclusiveMinimum`);
    if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum)
      errs.push(`${path}: not below exclusiveMaximum`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && [...value].length < s.minLength) errs.push(`${path}: too short`);
    if (typeof s.maxLength === 'number' && [...value].length > s.maxLength) errs.push(`${path}: too long`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value))
      errs.push(`${path}: does not match ${s.pattern}`);
    if (s.format === 'date-time' && Number.isNaN(Date.parse(value))) errs.push(`${path}: not a date-time`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) errs.push(`${path}: too few items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) errs.push(`${path}: too many items`);
    if (s.items !== undefined)
      value.forEach((v, i) => errs.push(...validateJson(s.items as Schema, v, root, `${path}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const key of (s.required ?? []) as string[]) if (!(key in obj)) errs.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) errs.push(...validateJson(props[key]!, v, root, `${path}.${key}`));
      else if (s.additionalProperties === false) errs.push(`${path}: unexpected property ${key}`);
      else if (typeof s.additionalProperties === 'object')
        errs.push(...validateJson(s.additionalProperties as Schema, v, root, `${path}.${key}`));
      if (typeof s.propertyNames === 'object')
        errs.push(...validateJson(s.propertyNames as Schema, key, root, `${path}{${key}}`));
    }
  }
  if (Array.isArray(s.allOf))
    for (const sub of s.allOf) errs.push(...validateJson(sub as Schema, value, root, path));
  if (
    Array.isArray(s.anyOf) &&
    !s.anyOf.some((sub) => validateJson(sub as Schema, value, root, path).length === 0)
  ) {
    errs.push(`${path}: matches no anyOf branch`);
  }
  if (Array.isArray(s.oneOf)) {
    const n = s.oneOf.filter((sub) => validateJson(sub as Schema, value, root, path).length === 0).length;
    if (n !== 1) errs.push(`${path}: matches ${n} oneOf branches`);
  }
  return errs;
}
