import { systemClock } from '../../src/coordination/clock.js';
import { MemoryHub, createMemoryCoordination } from '../../src/coordination/memory/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { describeContract } from './contract.js';

describeContract('memory', async () => ({
  namespace() {
    const hub = new MemoryHub(systemClock);
    return {
      pod: async (opts) => createMemoryCoordination({ hub, log: silentLogger(), ...opts }),
      sessionWrites: async () => hub.writes.sessions,
    };
  },
  close: async () => undefined,
}));
