/**
 * The cog framework: define cogs, run them in a {@link CogHost}, load and hot-reload them with a
 * {@link CogLoader}, register their commands with {@link syncCommands}.
 */
export type { CogContext, CogDirectory, CogSummary } from './context.js';
export {
  COG_NAME,
  CUSTOM_ID_MAX,
  type Cog,
  type CogCommand,
  type CogDefinition,
  type CogEventName,
  type CommandData,
  type CommandDefinition,
  type ComponentHandler,
  type DispatchMap,
  type EventHandlers,
  type EventMeta,
  type ModalHandler,
  type OptionsOf,
  customId,
  defineCog,
  isCog,
  matchPrefix,
} from './define-cog.js';
export {
  COG_HOST_DEFAULTS,
  CogHost,
  type CogHostOptionalOptions,
  type CogHostOptions,
  type CogHostRequiredOptions,
  type ReloadResult,
} from './host.js';
export {
  AutocompleteInteraction,
  BaseInteraction,
  CommandInteraction,
  ComponentInteraction,
  ModalSubmitInteraction,
  RepliableInteraction,
} from './interaction.js';
export { CogLoader, DEFAULT_COGS_DIR } from './loader.js';
export { type CogHostMetrics, cogHostMetrics, reuseMetric } from './metrics.js';
export {
  type CommandOptions,
  CommandOptionValidator,
  type Invocation,
  type OptionCheck,
  type OptionValue,
  parseDeclared,
  readInvocation,
} from './options.js';
export {
  type AutocompleteChoice,
  type Encodable,
  InteractionResponder,
  InteractionStateError,
  type JSONEncodable,
  type MessageInput,
  type ResponseState,
} from './responder.js';
export { type CogScheduler, InstanceScheduler, type TimerHandle } from './scheduler.js';
export {
  type ClusterPodStatus,
  type CogCache,
  type CogClaims,
  type CogClock,
  type CogPubSub,
  type DomainCall,
  type LocalShardStatus,
  type ShardView,
  shardForGuild,
  systemCogClock,
} from './services.js';
export {
  COG_CHANNELS,
  type CogSetting,
  type GuildCogSettings,
  type GuildSettings,
  MemoryGuildCogSettings,
  type SettingsChanged,
} from './settings.js';
export { type SyncOptions, type SyncResult, syncCommands } from './sync-commands.js';
