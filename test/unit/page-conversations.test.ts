import { MAX_MENTIONS } from '@hipochat/client';
import { MentionDirectory, mentionedNames } from '../../web/mentions.js';
import { refusalText } from '../../web/refusals.js';

describe('the page: @names in a composer', () => {
  it.each([
    ['@bob look', ['bob']],
    ['hi @bob, @Carol: and (@dan)!', ['bob', 'Carol', 'dan']],
    ['mail me at a@b.example', []],
    ['@ alone', []],
  ])('reads the names of %j', (text, names) => {
    expect(mentionedNames(text)).toEqual(names);
  });

  it('turns known names into user ids, each once, ignoring case and unknown names', () => {
    const directory = new MentionDirectory();
    directory.learn('Bob', 'u-bob');
    directory.learn('carol', 'u-carol');
    expect(directory.resolve('@bob and @BOB, @carol, @nobody')).toEqual(['u-bob', 'u-carol']);
  });

  it('keeps at most the server limit of mentions', () => {
    const directory = new MentionDirectory();
    const names = Array.from({ length: MAX_MENTIONS + 5 }, (_, n) => `user${n}`);
    for (const name of names) directory.learn(name, name);
    expect(directory.resolve(names.map((name) => `@${name}`).join(' '))).toHaveLength(MAX_MENTIONS);
  });
});

describe('the page: refusals by moderation in words', () => {
  it.each([
    ['muted', 42, 'You are muted in this room for 42 more seconds.'],
    ['muted', 1, 'You are muted in this room for 1 more second.'],
    ['banned', 300, 'You are banned from this room for 300 more seconds.'],
    ['no links', undefined, 'Your message was rejected: no links.'],
  ])('says %s (%p s)', (reason, seconds, text) => {
    expect(refusalText(reason, seconds)).toBe(text);
  });
});
