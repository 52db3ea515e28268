import type { Identity, NewMessage } from '../../lambdas/core/protocol.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, sleep, TTL } from '../support/store-contract.js';

/** A profile with an id no Lua number could carry exactly: the record must keep it as it is. */
const who = (userId: string): Identity => ({
  userId,
  profile: { id: userId, big: 1_234_567_890_123_456 },
});

/** A message of `senderId` in `room`, for the unread counts of its watchers. */
function message(room: string, senderId: string): NewMessage {
  return {
    type: 'message',
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body: 'x',
    author: null,
    senderId,
  };
}

describe.each(contractStores(['RedisStore', 'MemoryStore']))('%s (follower contract)', (_name, make) => {
  let store: ChatStore;
  /** A connection id, a user and rooms no other test or run uses (Redis keeps them between runs). */
  let id: string;
  let user: string;
  let a: string;
  let b: string;

  beforeAll(async () => {
    store = await make();
  }, 60_000);
  beforeEach(() => {
    id = uniqueRoom('conn');
    user = uniqueRoom('user');
    a = uniqueRoom('a');
    b = uniqueRoom('b');
  });
  afterAll(async () => {
    await store.close();
  });

  describe('subscribe and unsubscribe (the record of followed rooms)', () => {
    it('opens a follower with no room and lists the rooms it follows, in order', async () => {
      await store.followers.open(id, who(user), { batched: true }, TTL);
      expect(await store.followers.follower(id)).toEqual({
        identity: who(user),
        rooms: [],
        options: { batched: true },
      });
      expect(await store.followers.follow(id, a, 5)).toBe('added');
      expect(await store.followers.follow(id, b, 5)).toBe('added');
      expect(await store.followers.follow(id, a, 5)).toBe('following');
      expect((await store.followers.follower(id))?.rooms).toEqual([a, b]);
    });

    it('refuses a room over the cap and takes one again after an unsubscribe', async () => {
      await store.followers.open(id, who(user), {}, TTL);
      await store.followers.follow(id, a, 1);
      expect(await store.followers.follow(id, b, 1)).toBe('full');
      expect(await store.followers.unfollow(id, a)).toBe(true);
      expect(await store.followers.unfollow(id, a)).toBe(false);
      expect(await store.followers.follow(id, b, 1)).toBe('added');
      expect((await store.followers.follower(id))?.rooms).toEqual([b]);
    });

    it('answers unknown for a connection it never opened', async () => {
      expect(await store.followers.follow(id, a, 5)).toBe('unknown');
      expect(await store.followers.follower(id)).toBeNull();
    });

    it("keeps the follower's record while it joins and leaves rooms, and is no single room's home", async () => {
      await store.followers.open(id, who(user), {}, TTL);
      await store.followers.follow(id, a, 5);
      await store.connect(a, id, who(user), TTL);
      await store.followers.follow(id, b, 5);
      await store.connect(b, id, who(user), TTL);
      expect(await store.connectionHome(id)).toBeNull();

      await store.followers.unfollow(id, a);
      await store.disconnect(a, id);

      expect(await store.connections(a)).toEqual([]);
      expect(await store.connections(b)).toEqual([{ connectionId: id, userId: user }]);
      expect((await store.followers.follower(id))?.rooms).toEqual([b]);
    });

    it('forgets the record on close and answers what it followed', async () => {
      await store.followers.open(id, who(user), { unread: true }, TTL);
      await store.followers.follow(id, a, 5);
      expect(await store.followers.close(id)).toMatchObject({ rooms: [a] });
      expect(await store.followers.follower(id)).toBeNull();
      expect(await store.followers.watchingConnections(user)).toEqual([]);
    });
  });

  describe('unread watchers', () => {
    it("indexes the user's rooms across the store, the latest joined first", async () => {
      const c = uniqueRoom('c');
      await store.followers.addUserRoom(a, [user]);
      await sleep(2);
      await store.followers.addUserRoom(b, [user]);
      await sleep(2);
      await store.followers.addUserRoom(c, [user]);
      expect(await store.followers.userRooms(user, 2)).toEqual([c, b]);
      await store.followers.removeUserRoom(c, [user]);
      expect(await store.followers.userRooms(user, 10)).toEqual([b, a]);
    });

    it('lists the watching connections of a user that asked for unread counts only', async () => {
      await store.followers.open(id, who(user), { unread: true }, TTL);
      await store.followers.open(`${id}-quiet`, who(user), {}, TTL);
      expect(await store.followers.watchingConnections(user)).toEqual([id]);
    });

    it("answers each watching member's unread count, and none for a watcher who is no member", async () => {
      // Prepare: the user is a member of a; a stranger watches a too.
      await store.addMembers(a, [user]);
      await store.followers.watch(a, user, Date.now() + 60_000);
      await store.followers.watch(a, 'stranger', Date.now() + 60_000);

      // Act
      await store.append(message(a, 'someone'));
      await store.append(message(a, 'someone'));

      // Assess
      expect(await store.followers.watchers(a)).toEqual([{ userId: user, count: 2 }]);
    });

    it('forgets watchers whose watch expired or who were unwatched', async () => {
      await store.addMembers(a, [user, 'other']);
      await store.followers.watch(a, user, Date.now() - 1);
      await store.followers.watch(a, 'other', Date.now() + 60_000);
      expect(await store.followers.watchers(a)).toEqual([{ userId: 'other', count: 0 }]);
      await store.followers.unwatch(a, 'other');
      expect(await store.followers.watchers(a)).toEqual([]);
    });

    it('keeps the later expiry of two watches', async () => {
      await store.addMembers(a, [user]);
      await store.followers.watch(a, user, Date.now() + 60_000);
      await store.followers.watch(a, user, Date.now() - 1);
      expect(await store.followers.watchers(a)).toEqual([{ userId: user, count: 0 }]);
    });
  });
});
