import { UnreadNotifier } from '../../lambdas/core/fanout-unread.js';
import type { Identity, NewMessage } from '../../lambdas/core/protocol.js';
import { signalEnvelope } from '../../lambdas/core/signals.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import type { ChatMessage } from '../../protocol/index.js';
import { RecordingSender } from '../support/recording-sender.js';

const TTL = 3600;
const who = (userId: string): Identity => ({ userId, profile: { id: userId } });

describe('live unread counts (fan-out)', () => {
  let store: MemoryStore;
  let sender: RecordingSender;
  let notifier: UnreadNotifier;

  /** A stored message of `room` from `senderId`. */
  const sent = async (room: string, senderId: string): Promise<ChatMessage> => {
    const message: NewMessage = {
      type: 'message',
      room,
      token: room,
      timestamp: 1,
      body: 'x',
      author: null,
      senderId,
    };
    return (await store.append(message)).message;
  };

  /** A follower of `rooms` of `userId`, watching unread counts of the user's rooms (as `$connect` opens it). */
  const watching = async (connectionId: string, userId: string, rooms: string[] = []) => {
    await store.followers.open(connectionId, who(userId), { unread: true }, TTL);
    for (const room of rooms) await store.followers.follow(connectionId, room, 50);
    await store.followers.watch('r9', userId, Date.now() + TTL * 1000);
  };

  beforeEach(async () => {
    store = new MemoryStore();
    sender = new RecordingSender();
    notifier = new UnreadNotifier(store, sender, 8);
    await store.addMembers('r9', ['ann', 'bob', 'cy']);
  });

  it("sends each watching member the room's new count on every watching connection that does not follow it", async () => {
    await watching('ann-1', 'ann');
    await watching('ann-2', 'ann', ['r9']);
    await watching('cy-1', 'cy');
    const messages = [await sent('r9', 'bob'), await sent('r9', 'bob')];

    expect(await notifier.notify('r9', messages)).toBe(2);

    expect(sender.framesOf('ann-1')).toEqual([{ type: 'unread', room: 'r9', count: 2 }]);
    expect(sender.framesOf('ann-2')).toEqual([]);
    expect(sender.framesOf('cy-1')).toEqual([{ type: 'unread', room: 'r9', count: 2 }]);
  });

  it('sends nothing to a sender whose count their own messages left as it was, nor for signal frames', async () => {
    await watching('bob-1', 'bob');
    expect(await notifier.notify('r9', [await sent('r9', 'bob')])).toBe(0);
    expect(await notifier.notify('r9', [signalEnvelope('r9', '{"type":"typing"}')])).toBe(0);
    expect(sender.posts).toEqual([]);
  });

  it('forgets a watcher whose watching connections all closed', async () => {
    await watching('ann-1', 'ann');
    await store.followers.close('ann-1');
    await notifier.notify('r9', [await sent('r9', 'bob')]);
    expect(await store.followers.watchers('r9')).toEqual([]);
  });

  it('never fails the fan-out when a post fails', async () => {
    await watching('ann-1', 'ann');
    sender.post = async () => {
      throw new Error('throttled for good');
    };
    await expect(notifier.notify('r9', [await sent('r9', 'bob')])).resolves.toBe(0);
  });
});
