/**
 * Discord's REST error bodies: `{ code, message, errors? }`, with 50035 "Invalid Form Body" carrying nested
 * field errors `{ field: { _errors: [{ code, message }] } }`.
 */

/** One field error entry. */
export interface FieldError {
  readonly code: string;
  readonly message: string;
}

/** Nested field errors as Discord renders them. */
export type FieldErrors = { _errors?: FieldError[] } & {
  [key: string]: FieldErrors | FieldError[] | undefined;
};

/**
 * A REST failure with HTTP status and Discord JSON code.
 *
 * @example
 * throw new RestError(403, 50013, 'Missing Permissions');
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: FieldErrors,
  ) {
    super(message);
    this.name = 'RestError';
  }

  /** The JSON body Discord sends. */
  body(): Record<string, unknown> {
    return { message: this.message, code: this.code, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

/**
 * Collects field errors by path, then throws one 50035.
 *
 * @example
 * const form = new FormErrors();
 * form.add(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
 * form.throwIfAny();
 */
export class FormErrors {
  private readonly root: FieldErrors = {};
  private count = 0;

  add(path: readonly (string | number)[], code: string, message: string): this {
    let node: FieldErrors = this.root;
    for (const key of path) {
      const k = String(key);
      const next = node[k];
      if (next === undefined || Array.isArray(next)) node[k] = {};
      node = node[k] as FieldErrors;
    }
    (node._errors ??= []).push({ code, message });
    this.count += 1;
    return this;
  }

  get size(): number {
    return this.count;
  }

  toJSON(): FieldErrors {
    return this.root;
  }

  throwIfAny(): void {
    if (this.count > 0) throw invalidForm(this.root);
  }
}

/**
 * 50035 with the given nested errors.
 *
 * @example
 * throw invalidForm({ content: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } });
 */
export function invalidForm(errors: FieldErrors): RestError {
  return new RestError(400, 50035, 'Invalid Form Body', errors);
}

/**
 * 50035 for a single field.
 *
 * @example
 * throw fieldError(['embeds', 0, 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.');
 */
export function fieldError(path: readonly (string | number)[], code: string, message: string): RestError {
  return invalidForm(new FormErrors().add(path, code, message).toJSON());
}

/**
 * Common errors, with the messages Discord sends.
 *
 * @example
 * throw Errors.unknown('channel'); // 404 { code: 10003, message: 'Unknown Channel' }
 */
export const Errors = {
  unauthorized: () => new RestError(401, 0, '401: Unauthorized'),
  notFound: () => new RestError(404, 0, '404: Not Found'),
  methodNotAllowed: () => new RestError(405, 0, '405: Method Not Allowed'),
  missingAccess: () => new RestError(403, 50001, 'Missing Access'),
  missingPermissions: () => new RestError(403, 50013, 'Missing Permissions'),
  invalidJson: () => new RestError(400, 50109, 'The request body contains invalid JSON.'),
  tooLarge: () => new RestError(413, 40005, 'Request entity too large'),
  emptyMessage: () => new RestError(400, 50006, 'Cannot send an empty message'),
  notAuthor: () => new RestError(403, 50005, 'Cannot edit a message authored by another user'),
  wrongChannelType: () => new RestError(400, 50024, 'Cannot execute action on this channel type'),
  dmChannel: () => new RestError(400, 50003, 'Cannot execute action on a DM channel'),
  cannotDm: () => new RestError(403, 50007, 'Cannot send messages to this user'),
  systemMessage: () => new RestError(403, 50021, 'Cannot execute action on a system message'),
  bulkTooOld: () =>
    new RestError(400, 50034, 'You can only bulk delete messages that are under 14 days old.'),
  bulkCount: () =>
    new RestError(400, 50016, 'You must provide at least 2 and fewer than 100 messages to delete.'),
  archivedThread: () => new RestError(400, 50083, 'Thread is archived'),
  lockedThread: () => new RestError(403, 160005, 'Thread is locked'),
  threadExists: () => new RestError(400, 160004, 'A thread has already been created for this message'),
  forumNeedsThread: () => new RestError(400, 40058, 'Cannot send a message in a forum channel'),
  invalidOAuthToken: () => new RestError(401, 50025, 'Invalid OAuth2 access token'),
  missingScope: () => new RestError(403, 50026, 'Missing required OAuth2 scope'),
  invalidWebhookToken: () => new RestError(401, 50027, 'Invalid Webhook Token'),
  blockedByAutoMod: () => new RestError(400, 200000, 'Message was blocked by automatic moderation'),
  unknown: (what: UnknownKind) => new RestError(404, UNKNOWN[what][0], UNKNOWN[what][1]),
} as const;

const UNKNOWN = {
  application: [10002, 'Unknown Application'],
  channel: [10003, 'Unknown Channel'],
  guild: [10004, 'Unknown Guild'],
  member: [10007, 'Unknown Member'],
  message: [10008, 'Unknown Message'],
  overwrite: [10009, 'Unknown Permission Overwrite'],
  role: [10011, 'Unknown Role'],
  user: [10013, 'Unknown User'],
  emoji: [10014, 'Unknown Emoji'],
  webhook: [10015, 'Unknown Webhook'],
  ban: [10026, 'Unknown Ban'],
  interaction: [10062, 'Unknown interaction'],
  command: [10063, 'Unknown application command'],
  automod: [10066, 'Unknown auto moderation rule'],
  event: [10070, 'Unknown Guild Scheduled Event'],
  eventUser: [10071, 'Unknown Guild Scheduled Event User'],
} as const satisfies Record<string, readonly [number, string]>;

/** Things that can be unknown (404). */
export type UnknownKind = keyof typeof UNKNOWN;
