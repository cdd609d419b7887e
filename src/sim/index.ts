/**
 * The Discord simulator: gateway v10 + REST v10 + OAuth2 over one generated world, for the demo, tests and
 * benchmarks. Start one with {@link createSimulator}; `guildhall sim` runs {@link startSim}.
 */
export { createSimulator, simulatorDefaults } from './simulator.js';
export type { SimulatorHandle, SimulatorOptions } from './simulator.js';
export { startSim } from './role.js';
export type { SimRoleOverrides } from './role.js';
export { startLoad, loadDefaults } from './load.js';
export type { LoadEventKind, LoadOptions, LoadRun, LoadSettings, LoadStats } from './load.js';
export { GatewayServer, gatewayDefaults, shardIdOf } from './gateway/index.js';
export type { GatewayServerOptions, GatewaySettings, SessionFilter } from './gateway/index.js';
export { ViolationLog } from './contracts.js';
export type {
  DispatchEvent,
  GatewayControl,
  GatewayWorld,
  SessionSummary,
  SimApplication,
  Violation,
} from './contracts.js';
export { World } from './world/index.js';
export type { WorldOptions } from './world/index.js';
