import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CoordinationUnavailableError } from '../errors.js';
import { coordinationMetrics } from '../metrics.js';
import { isUnavailable, redisGuard } from './connection.js';

describe('redis error classification', () => {
  it('treats connection loss, timeouts and a starting server as unavailable; bugs and bad data are not', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const retries = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(isUnavailable(refused)).toBe(true);
    expect(isUnavailable(retries)).toBe(true);
    expect(isUnavailable(new Error('Command timed out'))).toBe(true);
    expect(isUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isUnavailable(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isUnavailable(new ReplyError('ERR Error running script: attempt to compare nil'))).toBe(false);
    expect(isUnavailable(new SyntaxError('Unexpected token } in JSON'))).toBe(false);
    expect(isUnavailable('nope')).toBe(false);
  });

  it('the guard wraps only unavailability into CoordinationUnavailableError', async () => {
    const guard = redisGuard(coordinationMetrics(undefined, 'redis'));
    const err = await guard('leases.renew', () => Promise.reject(new Error('Command timed out'))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CoordinationUnavailableError);
    expect(err).toMatchObject({ operation: 'leases.renew', status: 503, code: 'coordination_unavailable' });
    const bug = new SyntaxError('bad json');
    await expect(guard('sessions.get', () => Promise.reject(bug))).rejects.toBe(bug);
  });
});
