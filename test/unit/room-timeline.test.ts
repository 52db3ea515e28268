import { RoomTimeline } from '@hipochat/client';
import type { ChatMessage } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';

const edit = (n: number, body: unknown, at: number) =>
  ({ kind: 'edit', room: 'lobby', id: chatMessage(n).id, body, edited: { at, by: 'ann' } }) as const;
const reaction = (n: number, emoji: string, user: string, count: number, added: boolean) =>
  ({ kind: 'reaction', room: 'lobby', id: chatMessage(n).id, emoji, user, count, added }) as const;

describe('RoomTimeline', () => {
  it('takes each message once, whatever order they come in, and knows the newest and oldest', () => {
    const timeline = new RoomTimeline();
    const added = [3, 1, 2, 3, 1].map((n) => timeline.add(chatMessage(n)));
    expect(added).toEqual([true, true, true, false, false]);
    expect(timeline.size).toBe(3);
    expect(timeline.lastId).toBe(chatMessage(3).id);
    expect(timeline.firstId).toBe(chatMessage(1).id);
  });

  it('applies an edit once and never lets an older edit overwrite a newer one', () => {
    const timeline = new RoomTimeline();
    timeline.add(chatMessage(1));
    expect(timeline.applyLive(edit(1, 'new', 20), undefined)).toMatchObject({ kind: 'edit', body: 'new' });
    expect(timeline.applyLive(edit(1, 'new', 20), undefined)).toBeUndefined();
    expect(timeline.applyLive(edit(1, 'old', 10), undefined)).toBeUndefined();
    expect(timeline.get(chatMessage(1).id)?.body).toBe('new');
  });

  it('turns a deleted message into a tombstone once, and no edit brings it back', () => {
    const timeline = new RoomTimeline();
    timeline.add(chatMessage(1));
    const deleted = { kind: 'delete', room: 'lobby', id: chatMessage(1).id } as const;
    expect(timeline.applyLive(deleted, undefined)).toMatchObject({
      message: { deleted: true, body: undefined },
    });
    expect(timeline.applyLive(deleted, undefined)).toBeUndefined();
    expect(timeline.applyLive(edit(1, 'back', 99), undefined)).toBeUndefined();
  });

  it('applies reaction toggles to the summary and drops an emoji whose count reaches zero', () => {
    const timeline = new RoomTimeline();
    timeline.add(chatMessage(1));
    timeline.applyLive(reaction(1, '👍', 'ann', 1, true), undefined);
    timeline.applyLive(reaction(1, '👍', 'bo', 2, true), undefined);
    expect(timeline.get(chatMessage(1).id)?.reactions).toEqual({ '👍': { count: 2, users: ['ann', 'bo'] } });
    timeline.applyLive(reaction(1, '👍', 'ann', 1, false), undefined);
    timeline.applyLive(reaction(1, '👍', 'bo', 0, false), undefined);
    expect(timeline.get(chatMessage(1).id)?.reactions).toBeUndefined();
  });

  it('takes a history version unless a live change applied after the request is newer', () => {
    const timeline = new RoomTimeline();
    timeline.add(chatMessage(1));
    timeline.add(chatMessage(2));
    const asked = timeline.changeCount;
    timeline.applyLive(edit(1, 'live', 30), undefined);
    const answer: ChatMessage[] = [
      { ...chatMessage(1), body: 'stale', edited: { at: 20, by: 'ann' } },
      { ...chatMessage(2), body: 'fresh', edited: { at: 25, by: 'ann' } },
    ];
    const changes = answer.flatMap((message) => timeline.refresh(message, asked, undefined));
    expect(changes).toEqual([
      expect.objectContaining({ kind: 'edit', id: chatMessage(2).id, body: 'fresh' }),
    ]);
    expect(timeline.get(chatMessage(1).id)?.body).toBe('live');
  });

  it('keeps only the newest `cap` messages and counts the forgotten ones as seen', () => {
    const timeline = new RoomTimeline(3);
    for (let n = 1; n <= 10; n += 1) timeline.add(chatMessage(n));
    expect(timeline.size).toBe(3);
    expect(timeline.get(chatMessage(8).id)).toBeDefined();
    expect(timeline.get(chatMessage(7).id)).toBeUndefined();
    expect(timeline.add(chatMessage(5))).toBe(false);
    expect(timeline.add(chatMessage(5), true)).toBe(true);
    expect(timeline.firstId).toBe(chatMessage(1).id);
  });

  it('starts a reconnect catch-up just before the newest `window` messages', () => {
    const timeline = new RoomTimeline();
    for (let n = 1; n <= 5; n += 1) timeline.add(chatMessage(n, { id: `100-${n}` }));
    expect(timeline.refreshFrom(2)).toBe('100-3');
    expect(timeline.refreshFrom(0)).toBe('100-5');
  });
});
