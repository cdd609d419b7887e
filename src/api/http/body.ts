import type { Context } from 'koa';
import { AppError } from '../../errors/app-error.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/**
 * Reads and parses a JSON request body, refusing: a non-JSON `Content-Type` (415), a compressed body
 * (415), more than `limitBytes` (413, before reading when `Content-Length` says so), invalid UTF-8 or
 * JSON (400 `malformed_json`). No body at all → `undefined` (the route's schema decides).
 *
 * @example
 * const raw = await readJsonBody(ctx, 1_048_576);
 */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = ctx.get('Content-Length');
  const chunked = /chunked/i.test(ctx.get('Transfer-Encoding'));
  if ((length === '' || length === '0') && !chunked) return undefined;
  const declared = length === '' ? undefined : Number(length);
  const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim();
  if (!JSON_TYPE.test(type)) {
    throw new AppError(415, 'unsupported_media_type', 'Send the body as application/json');
  }
  const charset = /charset=([^;]+)/i.exec(ctx.get('Content-Type'))?.[1]?.trim().toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError(415, 'unsupported_media_type', 'JSON bodies must be UTF-8');
  }
  const encoding = ctx.get('Content-Encoding').toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new AppError(415, 'unsupported_media_type', 'Compressed request bodies are not accepted');
  }
  if (declared !== undefined && declared > limitBytes) throw tooLarge(limitBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new AppError(400, 'malformed_json', 'The body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError(400, 'malformed_json', 'The body is not valid JSON');
  }
}

function tooLarge(limit: number): AppError {
  return new AppError(413, 'payload_too_large', `The body exceeds ${limit} bytes`, { limitBytes: limit });
}
