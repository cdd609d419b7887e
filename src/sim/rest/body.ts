/**
 * Request bodies: JSON, `multipart/form-data` (Discord's `payload_json` + `files[n]`, parsed with busboy)
 * and `application/x-www-form-urlencoded` (OAuth2). Oversized bodies → 413/40005, bad JSON → 50109.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { Errors, RestError } from './errors.js';

/** One uploaded file. */
export interface UploadedFile {
  /** The form field name, e.g. `files[0]`. */
  readonly field: string;
  /** `n` of `files[n]` (the attachment placeholder id), or null. */
  readonly index: string | null;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

/** A parsed request body. */
export interface ParsedBody {
  /** JSON body, `payload_json`, the form fields, or undefined when there was no body. */
  readonly json: unknown;
  readonly files: readonly UploadedFile[];
  readonly contentType: 'json' | 'multipart' | 'form' | 'none';
}

/**
 * Reads and parses a body, rejecting anything over `maxBytes`. `lenient` reads any other content type as
 * JSON (the scenario API); otherwise a body needs one of Discord's content types (50035).
 *
 * @example
 * const body = await readBody(req, 8 * 1024 * 1024);
 */
export async function readBody(
  req: IncomingMessage,
  maxBytes: number,
  opts: { lenient?: boolean } = {},
): Promise<ParsedBody> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw Errors.tooLarge();
  }
  if (type.startsWith('multipart/form-data')) return readMultipart(req, maxBytes);
  const raw = await readRaw(req, maxBytes);
  if (raw.length === 0) return { json: undefined, files: [], contentType: 'none' };
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return {
      json: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))),
      files: [],
      contentType: 'form',
    };
  }
  if (type.startsWith('application/json') || opts.lenient) {
    return { json: parseJson(raw.toString('utf8')), files: [], contentType: 'json' };
  }
  // Discord requires a Content-Type for bodies: anything else is an invalid form body.
  throw new RestError(400, 50035, 'Invalid Form Body', {
    _errors: [
      {
        code: 'CONTENT_TYPE_INVALID',
        message: `Expected "Content-Type" header to be one of {'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'}.`,
      },
    ],
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw Errors.invalidJson();
  }
}

function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(Errors.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

function readMultipart(req: IncomingMessage, maxBytes: number): Promise<ParsedBody> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, fieldSize: maxBytes, files: 10, parts: 64 },
      });
    } catch {
      reject(
        new RestError(400, 50035, 'Invalid Form Body', {
          _errors: [
            {
              code: 'CONTENT_TYPE_INVALID',
              message: 'Expected "Content-Type" header to be one of {\'application/json\'}.',
            },
          ],
        }),
      );
      return;
    }
    const fields: Record<string, string> = {};
    const files: UploadedFile[] = [];
    let total = 0;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('field', (name, value) => {
      total += value.length;
      if (total > maxBytes) return fail(Errors.tooLarge());
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        total += c.length;
        if (total > maxBytes) {
          stream.resume();
          fail(Errors.tooLarge());
          return;
        }
        chunks.push(c);
      });
      stream.on('limit', () => fail(Errors.tooLarge()));
      stream.on('end', () => {
        const m = /^files\[(\d+)\]$/.exec(name) ?? /^file(\d*)$/.exec(name);
        files.push({
          field: name,
          index: m ? (m[1] === '' ? '0' : (m[1] as string)) : null,
          filename: info.filename ?? 'file',
          contentType: info.mimeType || 'application/octet-stream',
          data: Buffer.concat(chunks),
        });
      });
    });
    bb.on('filesLimit', () =>
      fail(new RestError(400, 30015, 'Maximum number of attachments in a message reached (10)')),
    );
    bb.on('error', () =>
      fail(
        new RestError(400, 50035, 'Invalid Form Body', {
          _errors: [{ code: 'MULTIPART_INVALID', message: 'Malformed multipart body' }],
        }),
      ),
    );
    bb.on('close', () => {
      if (failed) return;
      let json: unknown;
      if (fields.payload_json !== undefined) {
        try {
          json = JSON.parse(fields.payload_json) as unknown;
        } catch {
          fail(Errors.invalidJson());
          return;
        }
      } else {
        json = Object.fromEntries(
          Object.entries(fields).map(([k, v]) => {
            if (v === 'true' || v === 'false' || /^\s*[[{]/.test(v)) {
              try {
                return [k, JSON.parse(v) as unknown];
              } catch {
                return [k, v];
              }
            }
            return [k, v];
          }),
        );
      }
      resolve({ json, files, contentType: 'multipart' });
    });
    req.on('error', fail);
    req.pipe(bb);
  });
}
