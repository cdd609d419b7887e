import type { SimulatorHandle } from '../../src/sim/index.js';
import { oauthFor } from '../../src/sim/oauth/store.js';

/** POST to the simulator's scenario API. */
export async function scenario(sim: SimulatorHandle, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${sim.url}/__sim${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`scenario ${path}: ${res.status} ${await res.text()}`);
}

/** Every Discord access token the simulator issued (test-only peek into its OAuth store). */
export function discordTokens(sim: SimulatorHandle): string[] {
  return [...(oauthFor(sim.world) as unknown as { tokens: Map<string, unknown> }).tokens.keys()];
}
