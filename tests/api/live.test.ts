import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLiveFeed } from '../../src/api/ports/live-feed.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

/** Reads SSE frames from a fetch body until `until` matches one or the timeout passes. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  until: (frames: string[]) => boolean,
  ms = 5000,
): Promise<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const frames: string[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !until(frames)) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
    ]);
    if (!chunk || chunk.done) break;
    buf += decoder.decode(chunk.value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      frames.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  }
  reader.releaseLock();
  return frames;
}

describe('live SSE', () => {
  let t: TestApi;
  const feed = memoryLiveFeed();
  beforeAll(async () => {
    t = await startTestApi({}, { liveFeed: feed });
    await seed(t, { days: 1 });
  });
  afterAll(() => t.close());

  it('streams hello, published activity and domain changes to viewers of that guild only', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/api/v1/guilds/${IDS.guildA}/live`, {
      headers: { authorization: `Bearer ${await t.token(IDS.viewer)}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const hello = await readEvents(res.body!, (f) => f.some((x) => x.startsWith('event: hello')));
    expect(hello.find((x) => x.startsWith('event: hello'))).toContain(IDS.guildA);
    expect(feed.subscribers(IDS.guildA)).toBe(1);

    feed.publish(IDS.guildA, { type: 'activity', at: new Date().toISOString(), data: { message: 12 } });
    feed.publish(IDS.guildB, { type: 'activity', at: new Date().toISOString(), data: { message: 99 } });
    await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
      token: await t.token(IDS.admin),
      body: { locale: 'sv-SE' },
    });
    const frames = await readEvents(res.body!, (f) => f.some((x) => x.startsWith('event: change')));
    const activity = frames.find((x) => x.startsWith('event: activity'))!;
    expect(JSON.parse(activity.split('data: ')[1]!)).toMatchObject({
      type: 'activity',
      data: { message: 12 },
    });
    expect(frames.some((x) => x.includes('"message":99'))).toBe(false);
    expect(frames.find((x) => x.startsWith('event: change'))).toContain('settings.update');

    controller.abort();
    for (let i = 0; i < 50 && feed.subscribers(IDS.guildA) > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(feed.subscribers(IDS.guildA)).toBe(0);
  });

  it('refuses outsiders with 404 and ends open streams on shutdown', async () => {
    expect(
      (await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/live`, { token: await t.token(IDS.outsider) }))
        .status,
    ).toBe(404);
    const res = await fetch(`${t.url}/api/v1/guilds/${IDS.guildA}/live`, {
      headers: { authorization: `Bearer ${await t.token(IDS.viewer)}` },
    });
    await readEvents(res.body!, (f) => f.length > 0);
    expect(t.deps.openStreams.size).toBe(1);
    t.api.closeStreams();
    const rest = await res.body!.getReader().read();
    expect(rest.done).toBe(true);
    expect(feed.subscribers(IDS.guildA)).toBe(0);
  });
});
