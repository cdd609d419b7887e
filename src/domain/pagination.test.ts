import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './pagination.js';

describe('cursors', () => {
  it('round-trip keyset positions', () => {
    expect(decodeCursor(encodeCursor([1732500000000, 'abc']), 'ns')).toEqual([1732500000000, 'abc']);
  });

  it('refuse anything they did not issue', () => {
    for (const bad of [
      '',
      '!!!',
      encodeCursor(['x']),
      Buffer.from('{"a":1}').toString('base64url'),
      encodeCursor([1.5]),
    ]) {
      expect(() => decodeCursor(bad, 'n')).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_cursor' }),
      );
    }
  });
});
