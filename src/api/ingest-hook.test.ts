import { describe, expect, it } from 'vitest';
import type { EventStore, IngestResult } from '../storage/index.js';
import { activityByGuild, withIngestHook } from './ingest-hook.js';

describe('withIngestHook', () => {
  it('calls the hook after ingest, passes everything else through, and survives a throwing hook', () => {
    const result: IngestResult = { inserted: 2, duplicates: 0, rejected: [] };
    const store = {
      ingest: (batch: readonly unknown[]) => ({ ...result, inserted: batch.length }),
      compact: () => 7,
    } as unknown as EventStore;
    const seen: number[] = [];
    const errors: unknown[] = [];
    const hooked = withIngestHook(
      store,
      (batch, r) => {
        seen.push(batch.length, r.inserted);
        throw new Error('hook broke');
      },
      (err) => errors.push(err),
    );
    expect(hooked.ingest([{}, {}, {}]).inserted).toBe(3);
    expect(seen).toEqual([3, 3]);
    expect(errors).toHaveLength(1);
    expect(hooked.compact()).toBe(7);
  });

  it('counts a batch per guild and kind', () => {
    expect(
      activityByGuild([
        { guildId: '1', kind: 'message' },
        { guildId: '1', kind: 'message' },
        { guildId: '2', kind: 'reaction_add' },
        { kind: 'message' },
        null,
      ]),
    ).toEqual(
      new Map([
        ['1', { message: 2 }],
        ['2', { reaction_add: 1 }],
      ]),
    );
  });
});
