/**
 * The guild a gateway dispatch belongs to: `d.id` for GUILD_CREATE / GUILD_UPDATE / GUILD_DELETE,
 * `d.guild_id` for everything else that has one, null otherwise (DMs, READY, USER_UPDATE, …).
 *
 * @example
 * dispatchGuildId('MESSAGE_CREATE', { guild_id: '81384788765712384', id: '1' }); // '81384788765712384'
 */
export function dispatchGuildId(event: string, d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return null;
  const o = d as { guild_id?: unknown; id?: unknown };
  if (typeof o.guild_id === 'string') return o.guild_id;
  const isGuild = event === 'GUILD_CREATE' || event === 'GUILD_UPDATE' || event === 'GUILD_DELETE';
  return isGuild && typeof o.id === 'string' ? o.id : null;
}
