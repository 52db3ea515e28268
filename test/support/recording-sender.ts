import type { ConnectionSender } from '../../lambdas/core/connections.js';

/** A management API that records each posted frame (parsed) and each close; listed connections answer 410. */
export class RecordingSender implements ConnectionSender {
  posts: { connectionId: string; data: unknown }[] = [];
  closed: string[] = [];
  gone = new Set<string>();

  async post(connectionId: string, data: Uint8Array) {
    if (this.gone.has(connectionId)) return 'gone' as const;
    this.posts.push({ connectionId, data: JSON.parse(Buffer.from(data).toString()) });
    return 'sent' as const;
  }

  async disconnect(connectionId: string) {
    this.closed.push(connectionId);
  }

  /** The frames one connection received, in order. */
  framesOf(connectionId: string): unknown[] {
    return this.posts.filter((p) => p.connectionId === connectionId).map((p) => p.data);
  }
}
