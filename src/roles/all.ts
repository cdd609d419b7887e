import { startApi } from '../api/role.js';
import type { RoleContext } from '../runtime.js';

/**
 * The embedded default (`npm start`): every role that exists, in one process, with in-memory coordination.
 * Prints where to reach each part.
 */
export async function startAll(ctx: RoleContext): Promise<void> {
  const api = await startApi(ctx);
  const lines = [
    'guildhall is running (role: all)',
    `  health:   ${api.url}/healthz`,
    `  ready:    ${api.url}/readyz`,
    `  metrics:  ${api.url}/metrics`,
    'Stop with Ctrl+C.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
