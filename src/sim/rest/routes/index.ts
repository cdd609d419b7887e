/**
 * Every REST route of the simulator.
 */
import type { RateLimiter } from '../rate-limit.js';
import type { RouteDef } from '../router.js';
import { channelRoutes } from './channels.js';
import { commandRoutes } from './commands.js';
import { guildRoutes } from './guilds.js';
import { interactionRoutes } from './interactions.js';
import { messageRoutes } from './messages.js';
import { moderationRoutes } from './moderation.js';
import { userRoutes } from './users.js';

/**
 * All routes; `limiter` gives the channel-edit limit to the channel routes.
 *
 * @example
 * const router = new Router(allRoutes(() => rateLimiter));
 */
export function allRoutes(limiter: () => RateLimiter): RouteDef[] {
  return [
    ...userRoutes(),
    ...channelRoutes(limiter),
    ...messageRoutes(),
    ...guildRoutes(),
    ...moderationRoutes(),
    ...commandRoutes(),
    ...interactionRoutes(),
  ];
}
