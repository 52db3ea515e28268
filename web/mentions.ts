/**
 * Mentions on the page: the names the room's people go by (authors of messages shown, who is
 * online), and the user ids a composer's `@name`s stand for. An `@word` that names nobody known
 * stays plain text.
 */
import { MAX_MENTIONS } from '@hipochat/client';

// `@bob`, `@bob,` or `(@bob)`: the name runs to the next space; trailing punctuation is not part of it.
const MENTION = /(?:^|[\s(])@([^\s@]+)/g;
const TRAILING = /[.,;:!?)'"]+$/;

/** The names after `@` in a text, as typed. */
export function mentionedNames(text: string): string[] {
  return [...text.matchAll(MENTION)].map((match) => match[1]!.replace(TRAILING, '')).filter(Boolean);
}

/** Who a name means in one room: learned from authors and the online list. */
export class MentionDirectory {
  private readonly byName = new Map<string, string>();

  /** Remembers that `name` (case-insensitive) is the user `userId`. */
  learn(name: string | undefined, userId: string | undefined): void {
    if (!name || !userId) return;
    this.byName.set(name.toLowerCase(), userId);
  }

  /** The user ids the text's `@name`s name, each once, known names only (at most the server's limit). */
  resolve(text: string): string[] {
    const ids = new Set<string>();
    for (const name of mentionedNames(text)) {
      const id = this.byName.get(name.toLowerCase());
      if (id !== undefined) ids.add(id);
    }
    return [...ids].slice(0, MAX_MENTIONS);
  }
}
