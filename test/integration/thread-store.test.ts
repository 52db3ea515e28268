import { BadRequestError, NotFoundError } from '../../lambdas/core/errors.js';
import { tombstoneOf } from '../../lambdas/core/store/change-store.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { BAD_PARENT, NOT_A_ROOT } from '../../lambdas/core/store/thread-store.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, HISTORY_LIMIT, message } from '../support/store-contract.js';

// Enough that Redis's approximate trimming (whole nodes of 100 entries) drops the first node.
const SMALL_HISTORY = 120;

describe.each(contractStores(['RedisStore', 'RedisStore in cluster mode', 'MemoryStore']))(
  '%s (thread contract)',
  (_name, make) => {
    let store: ChatStore;
    let room: string;

    beforeAll(async () => {
      store = await make(HISTORY_LIMIT);
    }, 60_000);
    beforeEach(() => {
      room = uniqueRoom('threads');
    });
    afterAll(async () => {
      await store.close();
    });

    /** Appends a message and answers its id. */
    async function post(body: unknown, senderId?: string, parentId?: string, into = store): Promise<string> {
      return (await into.append(message(room, body, senderId, { parentId }))).message.id;
    }

    describe('replies', () => {
      it('stores a reply like any message, with its parentId, and answers the root summary', async () => {
        const root = await post('root', 'ann');
        const appended = await store.append(message(room, 'r1', 'bob', { parentId: root }));
        expect(appended.message).toMatchObject({ body: 'r1', parentId: root });
        expect(appended.replies).toEqual({ count: 1, lastId: appended.message.id });
        const again = await store.append(message(room, 'r2', 'ann', { parentId: root }));
        expect(again.replies).toEqual({ count: 2, lastId: again.message.id });
      });

      it('counts a reply as unread for the other members', async () => {
        await store.addMembers(room, ['ann', 'bob']);
        const root = await post('root', 'ann');
        await store.page(room, 'bob', { limit: 10, markRead: true });
        await post('r1', 'ann', root);
        expect(await store.unread(room, 'bob')).toBe(1);
        expect(await store.unread(room, 'ann')).toBe(0);
      });

      it.each([
        ['an unknown id', async () => '1-0'],
        ['a reply', async () => post('r1', 'bob', await post('root', 'ann'))],
        [
          'a message of another room',
          async () => (await store.append(message(uniqueRoom('other'), 'elsewhere', 'ann'))).message.id,
        ],
      ])('refuses a parentId naming %s and stores nothing', async (_what, parent) => {
        const parentId = await parent();
        const before = (await store.page(room, 'ann', { limit: 100 })).messages.length;
        await expect(store.append(message(room, 'no', 'bob', { parentId }))).rejects.toThrow(BadRequestError);
        await expect(store.append(message(room, 'no', 'bob', { parentId }))).rejects.toThrow(BAD_PARENT);
        expect((await store.page(room, 'ann', { limit: 100 })).messages).toHaveLength(before);
      });

      it('refuses a bad parent before counting the rate limit', async () => {
        const rateLimit = { limit: 1, windowSeconds: 60 };
        await expect(
          store.append(message(room, 'no', 'bob', { parentId: '1-0' }), { rateLimit }),
        ).rejects.toThrow(BadRequestError);
        await expect(store.append(message(room, 'yes', 'bob'), { rateLimit })).resolves.toBeDefined();
      });

      it('answers a retried reply as a duplicate with no new summary', async () => {
        const root = await post('root', 'ann');
        const first = await store.append(message(room, 'r1', 'bob', { parentId: root }), {
          idempotencyKey: 'k1',
        });
        const retry = await store.append(message(room, 'r1', 'bob', { parentId: root }), {
          idempotencyKey: 'k1',
        });
        expect(retry).toMatchObject({ duplicate: true, message: { id: first.message.id } });
        expect(retry.replies).toBeUndefined();
        expect((await store.threads.page(room, 'ann', root, { limit: 10 })).root.replies).toEqual({
          count: 1,
          lastId: first.message.id,
        });
      });

      it('takes a retracted reply back from its root', async () => {
        const root = await post('root', 'ann');
        const first = await post('r1', 'bob', root);
        const second = await store.append(message(room, 'r2', 'bob', { parentId: root }));
        await store.retract(second.message);
        const page = await store.threads.page(room, 'ann', root, { limit: 10 });
        expect(page.root.replies).toEqual({ count: 1, lastId: first });
        expect(page.replies.map((m) => m.id)).toEqual([first]);
        expect((await store.threads.list(room, 'ann', 10))[0]).toMatchObject({ count: 1, lastId: first });
      });
    });

    describe('the replies summary in history', () => {
      it('shows replies {count, lastId} on the root in every read', async () => {
        const root = await post('root', 'ann');
        await post('r1', 'bob', root);
        const last = await post('r2', 'cy', root);
        const summary = { count: 2, lastId: last };
        const byId = (messages: { id: string }[]) => messages.find((m) => m.id === root);
        expect(byId((await store.page(room, 'ann', { limit: 10 })).messages)).toMatchObject({
          replies: summary,
        });
        expect(byId((await store.latest(room, 'ann', 10)).messages)).toMatchObject({ replies: summary });
        expect(byId((await store.read(room, 'ann')).messages)).toMatchObject({ replies: summary });
        const replies = (await store.page(room, 'ann', { limit: 10 })).messages.filter((m) => m.parentId);
        expect(replies.map((m) => m.replies)).toEqual([undefined, undefined]);
      });

      it('keeps the summary beside edits, reactions and deletes of the root and replies', async () => {
        const root = await post('root', 'ann');
        const reply = await post('r1', 'bob', root);
        await store.changes.react(room, root, 'bob', '👍', 20);
        const current = await store.changes.current(room, root);
        await store.changes.replace(
          room,
          root,
          current.text!,
          { ...current.version!, body: 'edited' },
          'ann',
        );
        const replyNow = await store.changes.current(room, reply);
        await store.changes.replace(room, reply, replyNow.text!, tombstoneOf(replyNow.version!), 'bob');
        const page = await store.threads.page(room, 'ann', root, { limit: 10 });
        expect(page.root).toMatchObject({
          body: 'edited',
          replies: { count: 1, lastId: reply },
          reactions: { '👍': { count: 1 } },
        });
        expect(page.replies).toEqual([expect.objectContaining({ id: reply, deleted: true, parentId: root })]);
      });

      it('keeps the thread of a deleted root', async () => {
        const root = await post('root', 'ann');
        const current = await store.changes.current(room, root);
        await store.changes.replace(room, root, current.text!, tombstoneOf(current.version!), 'ann');
        const reply = await post('r1', 'bob', root);
        const page = await store.threads.page(room, 'bob', root, { limit: 10 });
        expect(page.root).toMatchObject({ deleted: true, replies: { count: 1, lastId: reply } });
      });
    });

    describe('a thread', () => {
      it('answers the root and its replies oldest first, paged with before', async () => {
        const root = await post('root', 'ann');
        await post('other', 'cy');
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) ids.push(await post(`r${i}`, i % 2 ? 'ann' : 'bob', root));
        const newest = await store.threads.page(room, 'ann', root, { limit: 2 });
        expect(newest.root).toMatchObject({ id: root, body: 'root' });
        expect(newest.replies.map((m) => m.id)).toEqual(ids.slice(3));
        expect(newest.more).toBe(true);
        const older = await store.threads.page(room, 'ann', root, { limit: 2, before: ids[3] });
        expect(older.replies.map((m) => m.id)).toEqual(ids.slice(1, 3));
        const oldest = await store.threads.page(room, 'ann', root, { limit: 2, before: ids[1] });
        expect(oldest).toMatchObject({ more: false });
        expect(oldest.replies.map((m) => m.body)).toEqual(['r0']);
      });

      it('refuses an unknown root (NotFoundError) and a reply (BadRequestError)', async () => {
        const root = await post('root', 'ann');
        const reply = await post('r1', 'bob', root);
        await expect(store.threads.page(room, 'ann', '1-0', { limit: 5 })).rejects.toThrow(NotFoundError);
        await expect(store.threads.page(room, 'ann', reply, { limit: 5 })).rejects.toThrow(NOT_A_ROOT);
      });

      it('answers a root without replies with none', async () => {
        const root = await post('root', 'ann');
        const page = await store.threads.page(room, 'ann', root, { limit: 5, markRead: true });
        expect(page).toEqual({ root: expect.objectContaining({ id: root }), replies: [], more: false });
        expect(page.root.replies).toBeUndefined();
      });
    });

    describe('the threads of a room', () => {
      it('lists threads by latest activity with count, lastId and the reader’s unread replies', async () => {
        const a = await post('a', 'ann');
        const b = await post('b', 'ann');
        await post('plain', 'cy');
        await post('a1', 'bob', a);
        const b1 = await post('b1', 'bob', b);
        const a2 = await post('a2', 'cy', a);
        const threads = await store.threads.list(room, 'ann', 10);
        expect(threads.map((t) => [t.root.id, t.count, t.lastId, t.unread])).toEqual([
          [a, 2, a2, 2],
          [b, 1, b1, 1],
        ]);
        expect(threads[0]!.root).toMatchObject({ body: 'a', replies: { count: 2, lastId: a2 } });
        expect((await store.threads.list(room, 'ann', 1)).map((t) => t.root.id)).toEqual([a]);
      });

      it('counts only others’ replies after the reader’s thread read mark', async () => {
        const root = await post('root', 'ann');
        await post('r1', 'bob', root);
        await store.threads.page(room, 'ann', root, { limit: 10, markRead: true });
        expect((await store.threads.list(room, 'ann', 10))[0]!.unread).toBe(0);
        await post('r2', 'bob', root);
        await post('r3', 'ann', root);
        await post('r4', 'bob', root);
        // Ann's own reply marked the thread read up to it: only r4 is new to her.
        expect((await store.threads.list(room, 'ann', 10))[0]!.unread).toBe(1);
        expect((await store.threads.list(room, 'cy', 10))[0]!.unread).toBe(4);
        // An older page leaves the mark alone.
        await store.threads.page(room, 'cy', root, { limit: 1, before: '99999999999999-0', markRead: false });
        expect((await store.threads.list(room, 'cy', 10))[0]!.unread).toBe(4);
        await store.threads.page(room, 'cy', root, { limit: 1, markRead: true });
        expect((await store.threads.list(room, 'cy', 10))[0]!.unread).toBe(0);
      });

      it('counts backend replies as unread for everyone', async () => {
        const root = await post('root', 'ann');
        await post('from the backend', undefined, root);
        expect((await store.threads.list(room, 'ann', 10))[0]).toMatchObject({ count: 1, unread: 1 });
      });

      it('answers no threads for a room without replies', async () => {
        await post('plain', 'ann');
        expect(await store.threads.list(room, 'ann', 10)).toEqual([]);
      });
    });

    describe('trimmed history', () => {
      it('forgets the thread of a root the log trimmed, and reads the rest as usual', async () => {
        const small = await make(SMALL_HISTORY);
        try {
          const root = await post('root', 'ann', undefined, small);
          for (let i = 0; i < 110; i += 1) await post(`f${i}`, 'cy', undefined, small);
          await post('reply', 'bob', root, small);
          for (let i = 0; i < 125; i += 1) await post(`g${i}`, 'cy', undefined, small);
          const latest = await small.page(room, 'ann', { limit: 1000 });
          expect(latest.messages.some((m) => m.id === root)).toBe(false);
          expect(latest.messages.every((m) => m.replies === undefined)).toBe(true);
          await expect(small.threads.page(room, 'ann', root, { limit: 10 })).rejects.toThrow(NotFoundError);
          expect(await small.threads.list(room, 'ann', 10)).toEqual([]);
          await expect(small.append(message(room, 'late', 'bob', { parentId: root }))).rejects.toThrow(
            BAD_PARENT,
          );
          // A new thread works as before.
          const fresh = await post('fresh', 'ann', undefined, small);
          const reply = await post('r', 'bob', fresh, small);
          expect(await small.threads.list(room, 'ann', 10)).toEqual([
            expect.objectContaining({ count: 1, lastId: reply, unread: 1 }),
          ]);
        } finally {
          await small.close();
        }
      }, 30_000);
    });
  },
);
