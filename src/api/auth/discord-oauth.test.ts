import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { authorizeBase, mapGuildRole } from './discord-oauth.js';

describe('Discord role mapping', () => {
  it('owner → owner, ADMINISTRATOR or MANAGE_GUILD → admin, member → viewer only where the bot is', () => {
    expect(mapGuildRole({ owner: true, permissions: '0' }, false)).toBe('owner');
    expect(mapGuildRole({ owner: false, permissions: String(0x8) }, false)).toBe('admin');
    expect(mapGuildRole({ owner: false, permissions: String(0x20) }, true)).toBe('admin');
    expect(mapGuildRole({ owner: false, permissions: '2251799813685247' }, true)).toBe('admin');
    expect(mapGuildRole({ owner: false, permissions: String(0x10 | 0x400) }, true)).toBe('viewer');
    expect(mapGuildRole({ owner: false, permissions: '1024' }, false)).toBeNull();
    expect(mapGuildRole({ owner: false, permissions: 'garbage' }, true)).toBe('viewer');
  });

  it('derives the authorize page from the API origin unless configured', () => {
    const cfg = (env: Record<string, string>) => loadConfig(env, 'all');
    expect(authorizeBase(cfg({}))).toBe('https://discord.com/oauth2/authorize');
    expect(authorizeBase(cfg({ DISCORD_API_URL: 'http://127.0.0.1:8090/api' }))).toBe(
      'http://127.0.0.1:8090/oauth2/authorize',
    );
    expect(authorizeBase(cfg({ DISCORD_OAUTH_AUTHORIZE_URL: 'https://login.example/authorize' }))).toBe(
      'https://login.example/authorize',
    );
  });
});
