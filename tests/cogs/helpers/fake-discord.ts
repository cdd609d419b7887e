import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from '@discordjs/rest';

/** One request the fake Discord received. */
export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly auth: string | undefined;
}

interface InteractionRecord {
  acknowledged: boolean;
  callbacks: number;
}

/**
 * A small Discord REST stand-in on 127.0.0.1 for the cog tests: the interaction callback endpoint (one
 * initial response per interaction; a second one gets 400 / 40060 like Discord), the original-response
 * edit and follow-ups behind the interaction token (404 before the interaction was acknowledged), and
 * application commands (GET / PUT bulk overwrite, global and per guild) filling in Discord's defaults.
 * Every request is recorded.
 */
export class FakeDiscord {
  readonly calls: RecordedCall[] = [];
  private readonly interactions = new Map<string, InteractionRecord>();
  private readonly commands = new Map<string, Record<string, unknown>[]>();
  private readonly waiters = new Set<() => void>();
  private nextId = 1_000_000_000_000_000_000n;
  /** Milliseconds to wait before answering an interaction callback. */
  callbackDelayMs = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeDiscord> {
    const holder: { fake?: FakeDiscord } = {};
    const server = createServer((req, res) => void holder.fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new FakeDiscord(server, `http://127.0.0.1:${port}/api`);
    return holder.fake;
  }

  /** A @discordjs/rest client pointed at this server. */
  rest(): REST {
    return new REST({ api: this.url, version: '10', retries: 0, timeout: 5_000 }).setToken('test-bot-token');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Calls whose path contains `fragment` (and method, when given). */
  callsTo(fragment: string, method?: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.path.includes(fragment) && (method === undefined || c.method === method),
    );
  }

  /** Resolves with the calls for one interaction token once `count` of them arrived. */
  async waitForCalls(token: string, count: number, timeoutMs = 10_000): Promise<RecordedCall[]> {
    const pick = () => this.calls.filter((c) => c.path.includes(`/${token}`));
    const deadline = Date.now() + timeoutMs;
    while (pick().length < count) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${count} calls for ${token}; got ${JSON.stringify(pick())}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return pick();
  }

  /** The registered commands of a scope (global when guildId is absent). */
  registered(guildId?: string): Record<string, unknown>[] {
    return this.commands.get(guildId ?? 'global') ?? [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body: unknown = raw.length > 0 ? JSON.parse(raw) : undefined;
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\/api\/v10/, '');
    const auth = req.headers.authorization;
    this.calls.push({ method: req.method ?? 'GET', path, body, auth });
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w();
    }
    const send = (status: number, payload?: unknown) => {
      if (payload === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };

    let m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path);
    if (m && req.method === 'POST') {
      if (this.callbackDelayMs > 0) await new Promise((r) => setTimeout(r, this.callbackDelayMs));
      const rec = this.interaction(m[2]!);
      rec.callbacks += 1;
      if (tooLong(body)) {
        send(400, invalidContent());
        return;
      }
      if (rec.acknowledged) {
        send(400, { code: 40060, message: 'Interaction has already been acknowledged.' });
        return;
      }
      rec.acknowledged = true;
      send(204);
      return;
    }
    m = /^\/webhooks\/(\d+)\/([^/]+)(\/messages\/@original)?$/.exec(path);
    if (m) {
      const rec = this.interaction(m[2]!);
      if (!rec.acknowledged) {
        send(404, { code: 10015, message: 'Unknown Webhook' });
        return;
      }
      if (tooLong({ data: body })) {
        send(400, invalidContent());
        return;
      }
      send(200, {
        id: String(this.nextId++),
        content: (body as { content?: string } | undefined)?.content ?? '',
      });
      return;
    }
    m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path);
    if (m) {
      const scope = m[2] ?? 'global';
      if (req.method === 'GET') {
        send(200, this.commands.get(scope) ?? []);
        return;
      }
      if (req.method === 'PUT') {
        const previous = this.commands.get(scope) ?? [];
        const next = (body as Record<string, unknown>[]).map((c) => {
          const old = previous.find((p) => p.name === c.name && p.type === (c.type ?? 1));
          return this.asDiscordReturnsIt(c, m![1]!, m![2], old);
        });
        this.commands.set(scope, next);
        send(200, next);
        return;
      }
    }
    send(404, { code: 0, message: '404: Not Found' });
  }

  private interaction(token: string): InteractionRecord {
    let rec = this.interactions.get(token);
    if (!rec) this.interactions.set(token, (rec = { acknowledged: false, callbacks: 0 }));
    return rec;
  }

  /** A command as Discord's GET shows it: ids, version and every default filled in. */
  private asDiscordReturnsIt(
    c: Record<string, unknown>,
    applicationId: string,
    guildId: string | undefined,
    old: Record<string, unknown> | undefined,
  ): Record<string, unknown> {
    const type = (c.type as number | undefined) ?? 1;
    return {
      id: old?.id ?? String(this.nextId++),
      application_id: applicationId,
      version: String(this.nextId++),
      default_member_permissions: c.default_member_permissions ?? null,
      type,
      name: c.name,
      name_localizations: c.name_localizations ?? null,
      description: type === 1 ? (c.description ?? '') : '',
      description_localizations: c.description_localizations ?? null,
      ...(guildId ? { guild_id: guildId } : { dm_permission: c.dm_permission ?? true }),
      ...(Array.isArray(c.options) && c.options.length > 0 ? { options: c.options } : {}),
      nsfw: c.nsfw ?? false,
      integration_types: guildId ? [0] : (c.integration_types ?? [0]),
      contexts: guildId ? null : (c.contexts ?? [0, 1, 2]),
    };
  }
}

/** Discord refuses message content over 2,000 characters with a form error. */
function tooLong(body: unknown): boolean {
  const content = (body as { data?: { content?: unknown } } | undefined)?.data?.content;
  return typeof content === 'string' && content.length > 2000;
}

function invalidContent() {
  return {
    code: 50035,
    message: 'Invalid Form Body',
    errors: {
      data: {
        content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] },
      },
    },
  };
}
