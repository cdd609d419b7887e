// The busy guild the read-path benchmarks query (bench/api.ts, bench/analytics.ts): `n` events spread evenly
// over the 30 days before `now`, 85% messages and the rest spread over twelve other kinds (joins, voice,
// commands with a name, …), 60 channels and 8,000 members, both Zipf-skewed as in a real community.
import { type ActivityEvent, EVENT_KINDS, eventId } from '../src/storage/index.js';

const DAY = 86_400_000;

export function guildEvents(n: number, now: number, guildId: string): ActivityEvent[] {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const zipf = (k: number) => Math.min(k - 1, Math.floor(Math.exp(rnd() * Math.log(k + 1))) - 1);
  const out: ActivityEvent[] = [];
  const start = now - 30 * DAY;
  for (let i = 0; i < n; i++) {
    const ts = start + Math.floor((i / n) * 30 * DAY);
    const kind = rnd() < 0.85 ? 'message' : EVENT_KINDS[Math.floor(rnd() * 12)]!;
    out.push({
      id: eventId(ts, `bench:${i}`),
      ts,
      guildId,
      channelId: String(1300000000000000000n + BigInt(zipf(60))),
      userId: String(1600000000000000000n + BigInt(zipf(8000))),
      kind,
      ...(kind === 'command' ? { attrs: { name: ['rank', 'help', 'meme', 'play'][i % 4] } } : {}),
    });
  }
  return out;
}
