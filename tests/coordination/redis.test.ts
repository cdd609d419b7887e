import { Redis } from 'ioredis';
import { createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';
import { describeContract } from './contract.js';

describeContract('redis', async () => {
  const server = await RedisServer.start();
  const admin = new Redis(server.url);
  let n = 0;
  return {
    namespace() {
      const keyPrefix = `t${++n}:`;
      return {
        pod: (opts) => createCoordination({ redisUrl: server.url, keyPrefix, log: silentLogger(), ...opts }),
        // Real server-side counts: every SET/DEL Redis executed (session flushes are the only writers
        // while a session test runs; fenced writes SET from Lua, which commandstats also counts).
        sessionWrites: async () => {
          const info = await admin.info('commandstats');
          const calls = (cmd: string) =>
            Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
          return calls('set') + calls('del');
        },
      };
    },
    async close() {
      admin.disconnect();
      await server.stop();
    },
  };
});
