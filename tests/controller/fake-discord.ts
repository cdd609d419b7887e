// A tiny stand-in for Discord's `GET /api/v10/gateway/bot` (real HTTP on 127.0.0.1). The Discord
// simulator (src/sim) serves the same route but has not landed on main yet; this answers like Discord:
// `shards` = one per 1,000 guilds (at least 1), `session_start_limit` with the shared daily budget, 401
// without a `Bot` token.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayState {
  guilds: number;
  maxConcurrency: number;
  total: number;
  remaining: number;
  resetAfterMs: number;
}

export class FakeDiscord {
  readonly state: GatewayState;
  requests = 0;
  private server: Server | undefined;
  url = '';

  constructor(
    state: Partial<GatewayState> = {},
    private readonly token = 'test-token',
  ) {
    this.state = {
      guilds: 1,
      maxConcurrency: 1,
      total: 1000,
      remaining: 1000,
      resetAfterMs: 86_400_000,
      ...state,
    };
  }

  /** The `DISCORD_API_URL` to configure (REST appends `/v10/...`). */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bot ${this.token}`) {
        send(401, { message: '401: Unauthorized', code: 0 });
        return;
      }
      if (req.method === 'GET' && req.url === '/api/v10/gateway/bot') {
        this.requests++;
        send(200, {
          url: 'wss://gateway.invalid',
          shards: Math.max(1, Math.ceil(this.state.guilds / 1000)),
          session_start_limit: {
            total: this.state.total,
            remaining: this.state.remaining,
            reset_after: this.state.resetAfterMs,
            max_concurrency: this.state.maxConcurrency,
          },
        });
        return;
      }
      send(404, { message: '404: Not Found', code: 0 });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Listens again on the port of `url` after a stop (Discord coming back). */
  async restartOn(url: string): Promise<void> {
    await this.start(Number(new URL(url).port));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    this.server = undefined;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
