import type { ConnectionSender } from './connections.js';
import { logger } from './logger.js';
import type { ChatMessage } from './protocol.js';
import type { PushNotifier } from './push.js';
import { forEachLimited } from './retry.js';
import type { ChatStore, ConnectionRecord } from './store/chat-store.js';

/** Counts of one fan-out batch. */
export interface FanoutReport {
  messages: number;
  sent: number;
  gone: number;
  failed: number;
  pushed: number;
}

/** Options of the fan-out. */
export interface FanoutOptions {
  /** Posts in flight at once across the batch. */
  concurrency: number;
  /** Types that trigger the push webhook for offline members. */
  notifiableTypes: readonly string[];
}

/** Error raised when some posts failed after retries; the whole batch is then redelivered. */
export class FanoutError extends Error {
  constructor(readonly report: FanoutReport) {
    super(`fan-out failed for ${report.failed} deliveries`);
    this.name = 'FanoutError';
  }
}

/**
 * Delivers published messages to every live connection of their room. Rooms are processed in
 * parallel, the messages of one room in order, all posts under one concurrency bound. A
 * redelivered batch is harmless: clients drop ids they already have.
 */
export class FanoutService {
  constructor(
    private readonly store: ChatStore,
    private readonly sender: ConnectionSender,
    private readonly push: PushNotifier,
    private readonly options: FanoutOptions,
  ) {}

  async deliver(messages: readonly ChatMessage[]): Promise<FanoutReport> {
    const report: FanoutReport = { messages: messages.length, sent: 0, gone: 0, failed: 0, pushed: 0 };
    const byRoom = new Map<string, ChatMessage[]>();
    for (const message of messages) {
      const list = byRoom.get(message.room) ?? [];
      list.push(message);
      byRoom.set(message.room, list);
    }
    // One lane per room keeps per-room order; each lane shares the post budget.
    const perRoom = Math.max(1, Math.floor(this.options.concurrency / Math.max(1, byRoom.size)));
    await Promise.all(
      [...byRoom].map(async ([room, roomMessages]) => {
        let connections = await this.store.connections(room);
        for (const message of roomMessages) {
          connections = await this.deliverOne(room, message, connections, perRoom, report);
        }
      }),
    );
    if (report.failed > 0) throw new FanoutError(report);
    return report;
  }

  private async deliverOne(
    room: string,
    message: ChatMessage,
    connections: ConnectionRecord[],
    concurrency: number,
    report: FanoutReport,
  ): Promise<ConnectionRecord[]> {
    const data = Buffer.from(JSON.stringify(message));
    const gone = new Set<string>();
    await forEachLimited(connections, concurrency, async ({ connectionId }) => {
      try {
        const outcome = await this.sender.post(connectionId, data);
        if (outcome === 'sent') {
          report.sent += 1;
          return;
        }
        report.gone += 1;
        gone.add(connectionId);
        await this.store.dropConnection(room, connectionId);
      } catch (error) {
        report.failed += 1;
        logger.warn('delivery failed after retries', { room, connectionId, error });
      }
    });
    const live = gone.size === 0 ? connections : connections.filter((c) => !gone.has(c.connectionId));
    if (this.push.enabled && this.options.notifiableTypes.includes(message.type)) {
      await this.notifyOffline(room, message, live, report);
    }
    return live;
  }

  private async notifyOffline(
    room: string,
    message: ChatMessage,
    live: ConnectionRecord[],
    report: FanoutReport,
  ) {
    const online = new Set(live.map((c) => c.userId));
    const members = await this.store.members(room);
    const receivers = members.filter((member) => !online.has(member) && member !== message.senderId);
    const accepted = await this.push.notify({
      chat_token: room,
      receivers,
      body: message.body,
      type: message.type,
      author: message.author,
    });
    if (accepted) report.pushed += 1;
  }
}
