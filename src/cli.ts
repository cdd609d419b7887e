#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, type Role } from './config/index.js';
import { AppError } from './errors/app-error.js';
import { type RoleContext, createRoleContext } from './runtime.js';
import { VERSION } from './version.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

type RoleStarter = (ctx: RoleContext) => Promise<unknown>;

// Each role's module is imported lazily so `guildhall sim` does not load koa, SQLite, etc.
const starters: Record<Role, () => Promise<RoleStarter>> = {
  all: async () => (await import('./roles/all.js')).startAll,
  api: async () => (await import('./api/role.js')).startApi,
  shard: async () => (await import('./shard/role.js')).startShard,
  controller: async () => (await import('./controller/start.js')).startController,
  sim: async () => (await import('./sim/role.js')).startSim,
};

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

async function runRole(role: Role): Promise<void> {
  const ctx = createRoleContext(role);
  ctx.lifecycle.installSignalHandlers();
  const start = await starters[role]();
  await start(ctx);
}

async function runOnce(role: Role | 'tool', fn: (ctx: RoleContext) => Promise<void>): Promise<void> {
  const ctx = createRoleContext(role);
  await fn(ctx);
}

export function buildProgram(): Command {
  const program = new Command('guildhall')
    .description('Kubernetes-native, sharded Discord community platform.')
    .version(VERSION)
    .exitOverride() // before the subcommands exist, so they inherit it (usage errors → exit code 2)
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nConfiguration comes from environment variables; see the README table.\nExit codes: 0 ok, 1 failure, 2 bad configuration/usage.',
    );

  program
    .command('all')
    .description('Embedded default: simulator + api + shard + controller in one process (npm start).')
    .action(() => runRole('all'));
  program
    .command('api')
    .description('The single SQLite writer and admin REST API.')
    .action(() => runRole('api'));
  program
    .command('shard')
    .description('Leases shards, connects them to the gateway and runs the cogs.')
    .action(() => runRole('shard'));
  program
    .command('controller')
    .description('Publishes the shard plan and scales the shard StatefulSet.')
    .action(() => runRole('controller'));
  program
    .command('sim')
    .description('Discord simulator (gateway v10, REST v10, OAuth2) for demos, tests and benchmarks.')
    .option('--guilds <n>', 'guilds to generate (default SIM_GUILDS)', positiveInt)
    .option('--members-per-guild <n>', 'members per generated guild', positiveInt)
    .option('--max-concurrency <n>', 'session_start_limit.max_concurrency', positiveInt)
    .action(async (o: { guilds?: number; membersPerGuild?: number; maxConcurrency?: number }) => {
      const ctx = createRoleContext('sim');
      ctx.lifecycle.installSignalHandlers();
      const { startSim } = await import('./sim/role.js');
      await startSim(ctx, {
        guilds: o.guilds,
        membersPerGuild: o.membersPerGuild,
        maxConcurrency: o.maxConcurrency,
      });
    });
  program
    .command('migrate')
    .description('Apply pending SQLite migrations and exit.')
    .action(() =>
      runOnce('tool', async (ctx) => {
        const { migrateCommand } = await import('./storage/cli.js');
        await migrateCommand(ctx);
      }),
    );
  program
    .command('plan')
    .description('Show the shard plan, the controller status and the shard leases.')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      runOnce('tool', async (ctx) =>
        (await import('./controller/index.js')).planCommand(ctx, { json: o.json }),
      ),
    );
  program
    .command('reshard')
    .description('Ask the leading controller for a zero-downtime reshard (or roll one back).')
    .option('--shards <n>', 'new shard count (a multiple of max_concurrency)', positiveInt)
    .option('--abort', 'roll the reshard in flight back')
    .option('--wait', 'show progress on stderr until it is done')
    .action((o: { shards?: number; abort?: boolean; wait?: boolean }) =>
      runOnce('tool', async (ctx) => (await import('./controller/index.js')).reshardCommand(ctx, o)),
    );
  const token = program.command('token').description('Tokens for scripts and tests.');
  token
    .command('issue')
    .description('Print an admin API JWT scoped to one guild and role (signed with JWT_SECRET).')
    .requiredOption('--guild <id>', 'guild id')
    .requiredOption('--role <role>', 'owner | admin | moderator | viewer')
    .option('--user <id>', 'user id (default: the first SUPERADMIN_USER_IDS entry)')
    .option('--ttl <duration>', 'lifetime, e.g. 3600, 15m, 1h, 7d (max 30d)', '1h')
    .action((o: { guild: string; role: string; user?: string; ttl: string }) =>
      runOnce('tool', async (ctx) => {
        const { issueTokenCommand } = await import('./api/cli.js');
        await issueTokenCommand(ctx, o);
      }),
    );
  const cogs = program.command('cogs').description('Manage cogs across the cluster.');
  cogs
    .command('reload <name>')
    .description('Reload a cog on every shard pod (pub/sub cogs.reload); no gateway reconnect.')
    .action((name: string) =>
      runOnce('tool', async (ctx) => {
        const { openCoordination } = await import('./runtime.js');
        const { requestCogReload } = await import('./cogs/cli.js');
        const coordination = await openCoordination(ctx);
        try {
          await requestCogReload(coordination.pubsub, name);
          process.stdout.write(`asked every shard pod to reload cog '${name}'\n`);
        } finally {
          await coordination.close();
        }
      }),
    );
  cogs
    .command('sync')
    .description('Register the cogs’ slash commands with Discord (diffed; once per deploy).')
    .option('--guild <id>', 'register in one guild instead of globally')
    .action((o: { guild?: string }) =>
      runOnce('tool', async (ctx) => {
        const { REST } = await import('@discordjs/rest');
        const { syncAllCogCommands } = await import('./cogs/cli.js');
        const { applicationIdFromToken } = await import('./shard/cogs.js');
        const { token, apiUrl } = ctx.config.discord;
        if (!token) throw new AppError(400, 'token_required', 'DISCORD_TOKEN is required');
        const applicationId = ctx.config.discord.applicationId ?? applicationIdFromToken(token);
        if (!applicationId)
          throw new AppError(400, 'application_id_required', 'DISCORD_APPLICATION_ID is required');
        const rest = new REST({ api: apiUrl, version: '10' }).setToken(token);
        const r = await syncAllCogCommands({ rest, applicationId, log: ctx.log, guildId: o.guild });
        process.stdout.write(`${JSON.stringify(r)}\n`);
      }),
    );
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof AppError) {
    process.stderr.write(`guildhall: ${err.message} [${err.code}]\n`);
    return err.code === 'usage' ? EXIT.usage : EXIT.failure;
  }
  process.stderr.write(`guildhall: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failure;
}

await main(process.argv);
