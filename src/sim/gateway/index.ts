/**
 * The gateway half of the Discord simulator: a v10 WebSocket gateway that unmodified discord.js and
 * @discordjs/ws clients connect to. Only this file is imported from outside the folder.
 */
export { GatewayServer } from './gateway.js';
export type { GatewayServerDeps, GatewayServerOptions, GatewaySettings, SessionFilter } from './gateway.js';
export { KNOWN_INTENTS, PRIVILEGED_INTENTS, gatewayDefaults } from './constants.js';
export { shardIdOf } from './fanout.js';
