import { defineConfig } from 'vitest/config';

// Two projects: `unit` (beside the code, fast, no child processes) and `integration` (tests/, real
// redis-server, real SQLite files, real HTTP/WebSocket servers, child processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Integration tests spawn servers and processes; two cores, so keep parallelism modest.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
