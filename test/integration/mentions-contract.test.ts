import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, message, sleep, TTL, who } from '../support/store-contract.js';

describe.each(contractStores(['RedisStore', 'RedisStore in cluster mode', 'MemoryStore']))(
  '%s (mentions and mark unread contract)',
  (_name, make) => {
    let store: ChatStore;
    let room: string;
    const members = async (...users: string[]) => {
      for (const user of users) await store.connect(room, `c-${user}`, who(user), TTL);
    };
    const counts = async (user: string) => {
      const { unread, mentions } = await store.latest(room, user, 0);
      return { unread, mentions };
    };

    beforeAll(async () => {
      store = await make();
    }, 60_000);
    beforeEach(() => {
      room = uniqueRoom('mentions');
    });
    afterAll(async () => {
      await store.close();
    });

    describe('mentions', () => {
      it('keeps every mention in an open room and stores them at the end of the message', async () => {
        await members('ann', 'bob');
        const { message: stored } = await store.append(
          message(room, 'hi', 'ann', { mentions: ['bob', 'stranger', 'user/with "quotes" é'] }),
        );
        expect(stored.mentions).toEqual(['bob', 'stranger', 'user/with "quotes" é']);
        expect(Object.keys(stored).at(-1)).toBe('mentions');
        const [read] = (await store.read(room, 'bob')).messages;
        expect(read).toEqual(stored);
      });

      it('keeps only members in a closed room, and leaves the field out when none remain', async () => {
        await store.addMembers(room, ['ann', 'bob']);
        const kept = await store.append(message(room, 'one', 'ann', { mentions: ['bob', 'mallory'] }), {
          mentionMembersOnly: true,
        });
        const none = await store.append(message(room, 'two', 'ann', { mentions: ['mallory'] }), {
          mentionMembersOnly: true,
        });
        expect(kept.message.mentions).toEqual(['bob']);
        expect(none.message).not.toHaveProperty('mentions');
        expect((await store.latest(room, 'bob', 2)).messages.map((m) => m.mentions)).toEqual([
          ['bob'],
          undefined,
        ]);
      });

      it('counts the messages mentioning a reader since they last read, never the sender’s own', async () => {
        await members('ann', 'bob', 'cat');
        await store.append(message(room, 'hey bob', 'ann', { mentions: ['bob'] }));
        await store.append(message(room, 'hey both', 'ann', { mentions: ['bob', 'cat', 'ann'] }));
        await store.append(message(room, 'no one', 'ann'));
        await store.append(message(room, 'me myself', 'bob', { mentions: ['bob'] }));
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });
        expect(await counts('cat')).toEqual({ unread: 4, mentions: 1 });
        expect(await counts('ann')).toEqual({ unread: 1, mentions: 0 });
      });

      it('resets mention counts wherever the unread count resets: a read, a page to the newest, a connect', async () => {
        await members('ann', 'bob', 'cat', 'dan');
        for (const user of ['bob', 'cat', 'dan']) await store.disconnect(room, `c-${user}`);
        await store.append(message(room, 'all of you', 'ann', { mentions: ['bob', 'cat', 'dan'] }));
        expect((await counts('bob')).mentions).toBe(1);

        await store.read(room, 'bob');
        await store.page(room, 'cat', { limit: 10, markRead: true });
        await store.connect(room, 'c-dan-2', who('dan'), TTL);

        for (const user of ['bob', 'cat', 'dan'])
          expect(await counts(user)).toEqual({ unread: 0, mentions: 0 });
        await store.append(message(room, 'again', 'ann', { mentions: ['bob'] }));
        expect(await counts('bob')).toEqual({ unread: 1, mentions: 1 });
      });

      it('answers an idempotent retry with the stored mentions and counts them once', async () => {
        await members('ann', 'bob');
        const options = { idempotencyKey: 'k1' };
        const first = await store.append(message(room, 'x', 'ann', { mentions: ['bob'] }), options);
        const again = await store.append(message(room, 'x', 'ann', { mentions: ['bob'] }), options);
        expect(again).toEqual({ message: first.message, duplicate: true });
        expect((await counts('bob')).mentions).toBe(1);
      });

      it('forgets the mentions of a retracted message', async () => {
        await members('ann', 'bob');
        const { message: stored } = await store.append(message(room, 'oops', 'ann', { mentions: ['bob'] }));
        await store.retract(stored);
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });
      });
    });

    describe('mark unread', () => {
      it('moves the read mark to just before the message: others’ messages from it on, and their mentions', async () => {
        await members('ann', 'bob');
        const { message: first } = await store.append(message(room, 'first', 'ann'));
        const { message: second } = await store.append(message(room, 'second', 'ann', { mentions: ['bob'] }));
        await store.append(message(room, 'bob answers', 'bob'));
        await store.append(message(room, 'third', 'ann', { mentions: ['bob'] }));
        await store.read(room, 'bob');
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });

        const marked = await store.markUnread(room, 'bob', second.id);

        expect(marked).toEqual({ lastRead: first.id, unread: 2, mentions: 2, listeners: 0 });
        expect(await counts('bob')).toEqual({ unread: 2, mentions: 2 });
        const page = await store.page(room, 'bob', { limit: 10 });
        expect(page.lastSeenId).toBe(first.id);
      });

      it('answers a null last read when the first message is marked unread', async () => {
        await members('ann', 'bob');
        const { message: first } = await store.append(message(room, 'first', 'ann', { mentions: ['bob'] }));
        expect(await store.markUnread(room, 'bob', first.id)).toEqual({
          lastRead: null,
          unread: 1,
          mentions: 1,
          listeners: 0,
        });
        expect((await store.read(room, 'bob')).lastSeenId).toBeNull();
      });

      it('counts back to 0 when the reader reads again, and on from there', async () => {
        await members('ann', 'bob');
        const { message: first } = await store.append(message(room, 'first', 'ann', { mentions: ['bob'] }));
        await store.markUnread(room, 'bob', first.id);
        await store.page(room, 'bob', { limit: 10, markRead: true });
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });
        await store.append(message(room, 'later', 'ann', { mentions: ['bob'] }));
        expect(await counts('bob')).toEqual({ unread: 1, mentions: 1 });
      });

      it('keeps counting new messages and mentions after a mark unread', async () => {
        await members('ann', 'bob');
        const { message: first } = await store.append(message(room, 'first', 'ann'));
        await store.markUnread(room, 'bob', first.id);
        await store.append(message(room, 'second', 'ann', { mentions: ['bob'] }));
        expect(await counts('bob')).toEqual({ unread: 2, mentions: 1 });
      });

      it('keeps a standing mark unread when the reader’s socket leaves, until they read again', async () => {
        await members('ann', 'bob');
        const { message: first } = await store.append(message(room, 'first', 'ann', { mentions: ['bob'] }));
        await store.read(room, 'bob');
        await store.markUnread(room, 'bob', first.id);
        await store.disconnect(room, 'c-bob');
        expect(await counts('bob')).toEqual({ unread: 1, mentions: 1 });
        expect((await store.read(room, 'bob')).lastSeenId).toBeNull();

        await store.connect(room, 'c-bob-2', who('bob'), TTL);
        await store.append(message(room, 'second', 'ann'));
        // The socket leaves after the message's millisecond: it saw it.
        await sleep(2);
        await store.disconnect(room, 'c-bob-2');
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });
      });

      it('answers null and changes nothing for an id that is no message of the room', async () => {
        await members('ann', 'bob');
        const { message: stored } = await store.append(message(room, 'elsewhere', 'ann'));
        await store.append(message(uniqueRoom('other'), 'x', 'ann'));
        await store.read(room, 'bob');
        expect(await store.markUnread(room, 'bob', '1-0')).toBeNull();
        expect(await store.markUnread(uniqueRoom('empty'), 'bob', stored.id)).toBeNull();
        expect(await counts('bob')).toEqual({ unread: 0, mentions: 0 });
      });

      it('counts signals connections, who hear of the moved mark', async () => {
        await members('ann');
        await store.connect(room, 'c-bob', who('bob'), TTL, { signals: true });
        const { message: stored } = await store.append(message(room, 'hi', 'ann'));
        expect((await store.markUnread(room, 'bob', stored.id))?.listeners).toBe(1);
      });
    });
  },
);
