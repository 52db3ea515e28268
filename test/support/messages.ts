import type { ChatMessage } from '../../protocol/index.js';

/**
 * The `n`-th stored message of a room ('lobby' unless `fields` say otherwise): ids and timestamps
 * grow with `n`, the body is `m<n>`, and a backend sent it (no author). `fields` override any of
 * that; a `room` is also the message's Hipochat `token`.
 */
export function chatMessage(n: number, fields: Partial<ChatMessage> = {}): ChatMessage {
  const room = fields.room ?? 'lobby';
  return {
    id: `${1_700_000_000_000 + n}-0`,
    type: 'message',
    room,
    token: room,
    timestamp: n,
    body: `m${n}`,
    author: null,
    ...fields,
  };
}

/** Twenty distinct emoji (the most a message keeps, `MAX_REACTIONS_PER_MESSAGE`). */
export const TWENTY_EMOJI: readonly string[] = [
  '👍',
  '❤️',
  '😂',
  '🎉',
  '😮',
  '😢',
  '🔥',
  '👏',
  '🙏',
  '💯',
  '🚀',
  '👀',
  '✅',
  '❌',
  '🤔',
  '😍',
  '🥳',
  '😎',
  '🤝',
  '💡',
];

/** Emoji no server takes, whatever its `HIPOCHAT_REACTIONS`: `[what it is, the emoji]`. */
export const UNREADABLE_EMOJI: [string, unknown][] = [
  ['a lone zero-width joiner', '\u200d'],
  ['a right-to-left override', '\u202e'],
  ['tag characters', '\u{E0041}\u{E0042}'],
  ['a lone surrogate', '\ud83d'],
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
];
