/**
 * Uploaded attachment bytes, kept so the attachment URLs the simulator hands out can be fetched back
 * (bounded: oldest files are dropped past `maxBytes`).
 */
import type { APIAttachment } from 'discord-api-types/v10';

interface Stored {
  readonly contentType: string;
  readonly data: Buffer;
}

/**
 * Keeps attachment bytes by URL path.
 *
 * @example
 * const store = new AttachmentStore();
 * const att = store.put(baseUrl, channelId, id, 'a.png', 'image/png', bytes);
 * store.get(new URL(att.url).pathname);
 */
export class AttachmentStore {
  private readonly files = new Map<string, Stored>();
  private total = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Stores bytes and returns the attachment object of a message. */
  put(
    baseUrl: string,
    channelId: string,
    id: string,
    filename: string,
    contentType: string,
    data: Buffer,
    extra: { description?: string; spoiler?: boolean } = {},
  ): APIAttachment {
    const safe = filename.replace(/[^\w.-]+/g, '_') || 'file';
    const name = extra.spoiler && !safe.startsWith('SPOILER_') ? `SPOILER_${safe}` : safe;
    const path = `/attachments/${channelId}/${id}/${name}`;
    this.files.set(path, { contentType, data });
    this.total += data.length;
    while (this.total > this.maxBytes && this.files.size > 1) {
      const [oldest, f] = this.files.entries().next().value as [string, Stored];
      this.files.delete(oldest);
      this.total -= f.data.length;
    }
    return {
      id,
      filename: name,
      ...(extra.description ? { description: extra.description } : {}),
      content_type: contentType,
      size: data.length,
      url: `${baseUrl}${path}`,
      proxy_url: `${baseUrl}${path}`,
    };
  }

  get(path: string): Stored | undefined {
    return this.files.get(path);
  }
}
