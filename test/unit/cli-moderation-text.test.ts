import { moderationNote } from '../../cli/failures.js';
import { formatDuration } from '../../cli/moderation-commands.js';

// How the CLI words a moderation refusal and a restriction's length (pure functions).

describe('how a moderation refusal is told', () => {
  it('adds the reason and seconds left a message does not name yet', () => {
    expect(moderationNote({ reason: 'spam' }, 'message rejected')).toBe(' (reason: spam)');
    expect(moderationNote({ reason: 'muted', retryAfter: 30 }, 'you are muted')).toBe(' (30 s left)');
    expect(moderationNote({ reason: 'muted', retryAfter: 30 }, 'x (reason: muted, 30 s left)')).toBe('');
    expect(
      moderationNote({ reason: 'muted', retryAfter: 30 }, 'you are muted in this room for 30 more seconds'),
    ).toBe('');
  });

  it("does not take a 429's Retry-After for a mute", () => {
    expect(moderationNote({ retryAfterSeconds: 30 }, 'slow down')).toBe('');
  });

  it.each([
    [45, '45 s'],
    [600, '10 min 0 s'],
    [3661, '1 h 1 min'],
    [90_000, '1 d 1 h'],
  ])('reads %i seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
