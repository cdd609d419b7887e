import { z } from 'zod';
import { GUILD_ROLES } from './tables.js';

/**
 * A Discord snowflake as a string (17–20 digits).
 *
 * @example
 * z.strictObject({ guildId: snowflake });
 */
export const snowflake = z
  .string()
  .regex(/^\d{17,20}$/, 'a Discord snowflake (17–20 digits)')
  .meta({ description: 'Discord snowflake (17–20 digits, as a string)', example: '1180000000000000001' });

/**
 * An ISO 8601 UTC timestamp (responses always use this form).
 *
 * @example
 * z.strictObject({ at: isoTime });
 */
export const isoTime = z.iso.datetime({ offset: true }).meta({ example: '2026-11-25T12:00:00.000Z' });

/**
 * Milliseconds to the ISO form used in every response.
 *
 * @example
 * iso(0); // '1970-01-01T00:00:00.000Z'
 */
export const iso = (ms: number): string => new Date(ms).toISOString();
/**
 * Nullable variant of {@link iso}.
 *
 * @example
 * isoOrNull(row.left_at); // null or an ISO string
 */
export const isoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : iso(ms);

/**
 * A per-guild role.
 *
 * @example
 * guildRoleSchema.parse('admin');
 */
export const guildRoleSchema = z
  .enum(GUILD_ROLES)
  .meta({ description: 'owner > admin > moderator > viewer' });

/**
 * A guild as the admin API returns it.
 *
 * @example
 * guildSchema.parse(toGuildDto(row));
 */
export const guildSchema = z
  .strictObject({
    id: snowflake,
    name: z.string(),
    ownerId: snowflake.nullable(),
    icon: z.string().nullable(),
    memberCount: z.number().int(),
    joinedAt: isoTime,
    leftAt: isoTime.nullable(),
    updatedAt: isoTime,
  })
  .meta({ id: 'Guild' });
/**
 * A guild as the admin API returns it.
 *
 * @example
 * const g: GuildDto = toGuildDto(row);
 */
export type GuildDto = z.infer<typeof guildSchema>;

/**
 * Guild settings fields without defaults (the PATCH body is this, every field optional).
 *
 * @example
 * z.strictObject(guildSettingsShape).partial();
 */
export const guildSettingsShape = {
  locale: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a locale such as en-US'),
  timezone: z.string().min(1).max(64).refine(isTimeZone, 'an IANA time zone such as Europe/Berlin'),
  modLogChannelId: snowflake.nullable(),
  announcementsChannelId: snowflake.nullable(),
  pushNotifications: z.boolean(),
  analyticsEnabled: z.boolean(),
  commandPrefix: z.string().min(1).max(5),
};

/**
 * Full guild settings.
 *
 * @example
 * guildSettingsSchema.parse({ ...DEFAULT_GUILD_SETTINGS, locale: 'fr-FR' });
 */
export const guildSettingsSchema = z.strictObject(guildSettingsShape).meta({ id: 'GuildSettings' });
/**
 * Guild settings.
 *
 * @example
 * const s: GuildSettings = readSettings(ctx, guildId);
 */
export type GuildSettings = z.infer<typeof guildSettingsSchema>;

/**
 * The settings of a guild that never changed any.
 *
 * @example
 * const s = { ...DEFAULT_GUILD_SETTINGS, ...stored };
 */
export const DEFAULT_GUILD_SETTINGS: GuildSettings = {
  locale: 'en-US',
  timezone: 'UTC',
  modLogChannelId: null,
  announcementsChannelId: null,
  pushNotifications: false,
  analyticsEnabled: true,
  commandPrefix: '!',
};

/**
 * A partial settings update (unknown fields are refused).
 *
 * @example
 * guildSettingsPatchSchema.parse({ timezone: 'Europe/Berlin' });
 */
export const guildSettingsPatchSchema = z
  .strictObject(guildSettingsShape)
  .partial()
  .meta({ id: 'GuildSettingsPatch' });

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A cog's state in one guild.
 *
 * @example
 * z.array(cogStateSchema).parse(readCogStates(ctx, guildId));
 */
export const cogStateSchema = z
  .strictObject({
    name: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    config: z.record(z.string(), z.unknown()),
    configured: z.boolean().meta({ description: 'false while the guild uses the defaults' }),
    updatedAt: isoTime.nullable(),
  })
  .meta({ id: 'CogState' });
/**
 * A cog's state in one guild.
 *
 * @example
 * const states: CogStateDto[] = readCogStates(ctx, guildId);
 */
export type CogStateDto = z.infer<typeof cogStateSchema>;

/**
 * An explicit role grant.
 *
 * @example
 * roleGrantSchema.parse(toRoleGrantDto(row));
 */
export const roleGrantSchema = z
  .strictObject({
    guildId: snowflake,
    userId: snowflake,
    role: guildRoleSchema,
    grantedBy: z.string().nullable(),
    createdAt: isoTime,
  })
  .meta({ id: 'RoleGrant' });
/**
 * An explicit role grant.
 *
 * @example
 * const g: RoleGrantDto = toRoleGrantDto(row);
 */
export type RoleGrantDto = z.infer<typeof roleGrantSchema>;

/**
 * One audit log row.
 *
 * @example
 * z.array(auditEntrySchema).parse(page.items);
 */
export const auditEntrySchema = z
  .strictObject({
    id: z.number().int(),
    at: isoTime,
    actorType: z.enum(['user', 'api_key', 'service', 'system']),
    actorId: z.string().nullable(),
    guildId: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
/**
 * One audit log row.
 *
 * @example
 * const e: AuditEntryDto = toAuditDto(row);
 */
export type AuditEntryDto = z.infer<typeof auditEntrySchema>;

/**
 * A user known to the admin API.
 *
 * @example
 * userSchema.parse(toUserDto(row));
 */
export const userSchema = z
  .strictObject({
    id: snowflake,
    username: z.string(),
    globalName: z.string().nullable(),
    avatar: z.string().nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'User' });
/**
 * A user known to the admin API.
 *
 * @example
 * const u: UserDto = toUserDto(row);
 */
export type UserDto = z.infer<typeof userSchema>;
