import {
  type APIEmbedField,
  ApplicationCommandType,
  InteractionContextType,
  PermissionFlagsBits,
} from 'discord-api-types/v10';
import { SlashCommandBuilder } from 'discord.js';
import { isAppError } from '../../errors/app-error.js';
import { VERSION } from '../../version.js';
import { type CogContext, type CommandInteraction, defineCog, shardForGuild } from '../framework/index.js';

/**
 * The built-in `system` cog (always on): `/status` (this guild's shard, gateway latency, guilds on the
 * shard, uptime, version, cluster view), `/help` (commands of the cogs enabled here) and
 * `/cogs list|enable|disable` for members with Manage Server or Administrator.
 *
 * @example
 * await host.load(systemCog);
 */
const systemCog = defineCog({
  name: 'system',
  description: 'Status, help and per-server feature switches.',
  canDisable: false,
  commands: [
    {
      data: new SlashCommandBuilder().setName('status').setDescription('Show how the bot is doing'),
      run: async (i, ctx) => i.reply({ embeds: [await statusEmbed(i, ctx)] }),
    },
    {
      data: new SlashCommandBuilder()
        .setName('help')
        .setDescription('List the commands available on this server'),
      run: async (i, ctx) => i.reply({ content: await helpText(i.guildId, ctx), ephemeral: true }),
    },
    {
      data: new SlashCommandBuilder()
        .setName('cogs')
        .setDescription('Turn features of the bot on or off for this server')
        .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
        .setContexts(InteractionContextType.Guild)
        .addSubcommand((s) => s.setName('list').setDescription('List the features and whether they are on'))
        .addSubcommand((s) =>
          s
            .setName('enable')
            .setDescription('Turn a feature on')
            .addStringOption((o) =>
              o.setName('cog').setDescription('The feature').setRequired(true).setAutocomplete(true),
            ),
        )
        .addSubcommand((s) =>
          s
            .setName('disable')
            .setDescription('Turn a feature off')
            .addStringOption((o) =>
              o.setName('cog').setDescription('The feature').setRequired(true).setAutocomplete(true),
            ),
        ),
      run: (i, ctx) => cogsCommand(i, ctx),
      autocomplete: (i, ctx) => {
        const typed = String(i.focused.value).toLowerCase();
        return ctx.cogs
          .list()
          .filter((c) => c.canDisable && c.name.includes(typed))
          .map((c) => ({ name: c.name, value: c.name }));
      },
    },
  ],
});

export default systemCog;

async function statusEmbed(i: CommandInteraction, ctx: CogContext) {
  const count = ctx.shard.shardCount();
  const local = ctx.shard.local();
  const shardId = i.guildId === null ? 0 : shardForGuild(i.guildId, count);
  const mine = local.find((s) => s.id === shardId);
  const fields: APIEmbedField[] = [
    { name: 'Shard', value: `${shardId} of ${count}`, inline: true },
    {
      name: 'Gateway latency',
      value: mine?.latencyMs == null ? 'n/a' : `${Math.round(mine.latencyMs)} ms`,
      inline: true,
    },
    { name: 'Guilds on this shard', value: mine ? String(mine.guilds) : 'n/a', inline: true },
    { name: 'Uptime', value: formatDuration(ctx.clock.now() - ctx.shard.startedAt), inline: true },
    { name: 'Version', value: VERSION, inline: true },
    {
      name: 'Pod',
      value: `${ctx.shard.podId} (shards ${local.map((s) => s.id).join(', ') || 'none'})`,
      inline: true,
    },
  ];
  if (ctx.shard.cluster) {
    try {
      const pods = await ctx.shard.cluster();
      const lines = pods.map((p) => `${p.ready ? '🟢' : '🟠'} ${p.pod}: ${p.shards.join(', ') || '—'}`);
      fields.push({
        name: `Cluster (${pods.length} pods)`,
        value: lines.join('\n').slice(0, 1024) || 'no pods',
      });
    } catch (err) {
      ctx.log.warn({ err }, 'cluster view unavailable');
      fields.push({ name: 'Cluster', value: 'unavailable' });
    }
  }
  return { title: 'guildhall status', fields };
}

async function helpText(guildId: string | null, ctx: CogContext): Promise<string> {
  const lines: string[] = [];
  for (const cog of ctx.cogs.list()) {
    if (guildId !== null && !(await ctx.cogs.isEnabled(guildId, cog.name))) continue;
    if (cog.commands.length === 0) continue;
    lines.push(`**${cog.name}** — ${cog.description}`);
    for (const c of cog.commands) {
      if (c.type === ApplicationCommandType.ChatInput) lines.push(`• \`/${c.name}\` ${c.description}`);
      else
        lines.push(
          `• ${c.name} (right-click a ${c.type === ApplicationCommandType.User ? 'user' : 'message'})`,
        );
    }
  }
  return lines.length === 0 ? 'No commands are available here.' : lines.join('\n').slice(0, 2000);
}

async function cogsCommand(i: CommandInteraction, ctx: CogContext): Promise<void> {
  const guildId = i.guildId;
  if (guildId === null) return i.reply({ content: 'This command only works in a server.', ephemeral: true });
  if (!i.hasPermission(PermissionFlagsBits.ManageGuild)) {
    return i.reply({
      content: 'You need the Manage Server or Administrator permission to change features.',
      ephemeral: true,
    });
  }
  if (i.subcommand === 'list') {
    const lines: string[] = [];
    for (const c of ctx.cogs.list()) {
      const on = await ctx.cogs.isEnabled(guildId, c.name);
      lines.push(`${on ? '✅' : '❌'} **${c.name}** — ${c.description}${c.canDisable ? '' : ' (always on)'}`);
    }
    return i.reply({ content: lines.join('\n').slice(0, 2000), ephemeral: true });
  }
  const name = String(i.options.cog ?? '');
  const enable = i.subcommand === 'enable';
  if (!ctx.cogs.list().some((c) => c.name === name)) {
    return i.reply({
      content: `There is no feature named \`${name}\`. Try \`/cogs list\`.`,
      ephemeral: true,
    });
  }
  try {
    await ctx.cogs.setEnabled(guildId, name, enable);
  } catch (err) {
    if (isAppError(err)) return i.reply({ content: err.message, ephemeral: true });
    throw err;
  }
  ctx.log.info({ guildId, target: name, enable, by: i.user.id }, 'feature switched');
  return i.reply({
    content: `The ${name} feature is now ${enable ? 'enabled' : 'disabled'} on this server.`,
    ephemeral: true,
  });
}

/** `1d 2h 3m 4s` (largest units first, zero units skipped). */
function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  parts.push(`${s}s`);
  return parts.join(' ');
}
