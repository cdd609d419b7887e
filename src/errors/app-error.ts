/**
 * The one error type the platform throws on purpose: an HTTP status, a stable machine-readable `code`, a
 * human message and optional details (e.g. field errors). The API's error middleware turns it into an
 * `application/problem+json` body; anything that is not an AppError becomes a generic 500.
 *
 * @example
 * throw new AppError(404, 'guild_not_found', `Guild ${id} is unknown`);
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }

  /** RFC 9457 problem document for this error. */
  toProblem(instance?: string): ProblemDocument {
    return {
      type: `https://guildhall.dev/problems/${this.code}`,
      title: this.message,
      status: this.status,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** The body of every error response (`application/problem+json`). */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: string;
  instance?: string;
  details?: unknown;
}

/** True when `err` is an {@link AppError}. */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
