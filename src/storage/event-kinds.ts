/**
 * The kinds of activity event the platform records. Shards normalize gateway dispatches into these; rollups
 * count them per guild / channel / kind.
 */
export const EVENT_KINDS = [
  'message',
  'message_edit',
  'message_delete',
  'reaction_add',
  'reaction_remove',
  'voice_join',
  'voice_leave',
  'voice_move',
  'member_join',
  'member_leave',
  'member_update',
  'command',
  'moderation',
  'automod',
  'thread_create',
  'custom',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Kinds that do not make a user "active" for the day (they happen to a user, not by one). */
export const PASSIVE_KINDS: ReadonlySet<EventKind> = new Set([
  'member_join',
  'member_leave',
  'member_update',
]);

const KIND_SET: ReadonlySet<string> = new Set(EVENT_KINDS);

/** True when `kind` is one of {@link EVENT_KINDS}. */
export function isEventKind(kind: unknown): kind is EventKind {
  return typeof kind === 'string' && KIND_SET.has(kind);
}
