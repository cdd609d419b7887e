import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, renderConfigTable } from './index.js';

describe('loadConfig', () => {
  it('gives the embedded defaults for role all with an empty environment', () => {
    const c = loadConfig({}, 'all');
    expect(c.api.port).toBe(8080);
    expect(c.storage.dataDir).toBe('./data');
    expect(c.redis.url).toBeUndefined();
    expect(c.api.superadmins).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.api)).toBe(true);
  });

  it('coerces and parses typed values', () => {
    const c = loadConfig(
      {
        API_PORT: '9000',
        METRICS_DEFAULT: 'no',
        SUPERADMIN_USER_IDS: '123456789012345678, 223456789012345678',
        LOG_LEVEL: 'debug',
      },
      'all',
    );
    expect(c.api.port).toBe(9000);
    expect(c.metrics.defaultMetrics).toBe(false);
    expect(c.api.superadmins).toEqual(['123456789012345678', '223456789012345678']);
    expect(c.log.level).toBe('debug');
  });

  it('lists every invalid variable at once, with what it expects', () => {
    let err: unknown;
    try {
      loadConfig(
        { API_PORT: 'eighty', LOG_LEVEL: 'loud', SHARDS_PER_POD: '-1', SUPERADMIN_USER_IDS: 'bob' },
        'all',
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.find((p) => p.startsWith('API_PORT:'))).toMatch(/got "eighty".*expected: Port/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toMatch(/"loud"/);
    expect(problems.find((p) => p.startsWith('SHARDS_PER_POD:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('SUPERADMIN_USER_IDS:'))).toMatch(/snowflake/);
    expect((err as Error).message).toMatch(/4 problems/);
  });

  it('reports variables a role cannot start without', () => {
    expect(() => loadConfig({}, 'shard')).toThrow(ConfigError);
    try {
      loadConfig({}, 'shard');
    } catch (e) {
      const names = (e as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names).toEqual(
        expect.arrayContaining(['REDIS_URL', 'DISCORD_TOKEN', 'API_INTERNAL_URL', 'JWT_SECRET']),
      );
    }
    // The same variables are optional for the embedded mode.
    expect(() => loadConfig({}, 'all')).not.toThrow();
  });

  it('never echoes a secret value back in an error', () => {
    const secret = 'short-but-very-secret';
    try {
      loadConfig({ JWT_SECRET: secret, REDIS_URL: 'not a url with password hunter2' }, 'all');
      expect.unreachable();
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toMatch(/JWT_SECRET: .*<redacted>/);
      expect(message).toMatch(/REDIS_URL: .*<redacted>/);
      expect(message).not.toContain(secret);
      expect(message).not.toContain('hunter2');
    }
  });

  it('renders a configuration table with every variable', () => {
    const table = renderConfigTable();
    for (const v of ['API_PORT', 'REDIS_URL', 'DISCORD_TOKEN', 'JWT_SECRET', 'EVENT_RETENTION_MONTHS']) {
      expect(table).toContain(`\`${v}\``);
    }
  });
});
