import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A guild as the fake returns it from users/@me/guilds. */
export interface FakeGuild {
  id: string;
  name: string;
  owner: boolean;
  permissions: string;
}

/**
 * A real local HTTP server that behaves like Discord's OAuth2 endpoints (token exchange with HTTP Basic
 * client credentials, users/@me, users/@me/guilds with limit/after paging), for the login tests until the
 * simulator lands. Records every request so tests can assert what the API sent.
 */
export class FakeDiscord {
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[] =
    [];
  private server!: Server;
  url = '';
  readonly accessToken = 'discord-access-token-abcdef123456';

  constructor(
    private readonly o: {
      clientId: string;
      clientSecret: string;
      code: string;
      user: { id: string; username: string; global_name: string | null; avatar: string | null };
      guilds: FakeGuild[];
    },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const c of req) body += String(c);
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      headers: req.headers,
      body,
    });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'POST' && url.pathname === '/api/v10/oauth2/token') {
      const basic = `Basic ${Buffer.from(`${this.o.clientId}:${this.o.clientSecret}`).toString('base64')}`;
      if (req.headers.authorization !== basic) return json(401, { error: 'invalid_client' });
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'authorization_code' || form.get('code') !== this.o.code) {
        return json(400, { error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
      }
      return json(200, {
        access_token: this.accessToken,
        token_type: 'Bearer',
        expires_in: 604800,
        refresh_token: 'discord-refresh-token-zzz',
        scope: 'identify guilds',
      });
    }
    if (req.headers.authorization !== `Bearer ${this.accessToken}`)
      return json(401, { message: '401: Unauthorized', code: 0 });
    if (req.method === 'GET' && url.pathname === '/api/v10/users/@me') return json(200, this.o.user);
    if (req.method === 'GET' && url.pathname === '/api/v10/users/@me/guilds') {
      const limit = Number(url.searchParams.get('limit') ?? 200);
      const after = url.searchParams.get('after');
      const sorted = [...this.o.guilds].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const from = after ? sorted.filter((g) => BigInt(g.id) > BigInt(after)) : sorted;
      return json(
        200,
        from.slice(0, limit).map((g) => ({ ...g, icon: null, features: [] })),
      );
    }
    json(404, { message: '404: Not Found', code: 0 });
  }
}
