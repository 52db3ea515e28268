/**
 * How one message looks in a room's list: an avatar with initials, the author line (hidden when it
 * continues the previous author's run), the body, the actions (shown on hover or focus) and the
 * reactions used, with one control that opens the emoji picker.
 */
import type { ChatMessage, Reactions } from '../protocol/index.js';
import { h } from './dom.js';

/** A display name for a message's author. */
export function authorName(message: ChatMessage): string {
  const author = message.author;
  if (author) {
    for (const field of ['username', 'name', 'display_name', 'id']) {
      const value = author[field];
      if (typeof value === 'string' && value) return value;
      if (typeof value === 'number') return String(value);
    }
  }
  return message.senderId ?? 'backend';
}

/** One or two letters for an avatar: "alice" → "A", "Bob Stone" → "BS". */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [[...(words[0] ?? '?')][0]];
  return letters.join('').toUpperCase();
}

/** The emoji the add-reaction picker offers (others show once someone used them). */
export const QUICK_REACTIONS: readonly string[] = ['👍', '❤️', '😂', '🎉'];

/** What a tombstone shows instead of its body. */
export const DELETED_TEXT = 'This message was deleted';

/** A run of one author's messages ends after this gap. */
export const GROUP_GAP_SECONDS = 5 * 60;

/** What the message's controls do. */
export interface MessageActions {
  edit(id: string): void;
  remove(id: string): void;
  react(id: string, emoji: string): void;
  /** Opens the thread of a root (absent inside a thread view). */
  openThread?(id: string): void;
  /** Marks the message and what follows unread (absent inside a thread view). */
  markUnread?(id: string): void;
}

/** Whether a message mentions the user `self`. */
export function mentionsMe(message: ChatMessage, self: string | undefined): boolean {
  return self !== undefined && (message.mentions?.includes(self) ?? false);
}

/** "1 reply", "3 replies". */
export function repliesText(count: number): string {
  return `${count} ${count === 1 ? 'reply' : 'replies'}`;
}

function bodyNode(message: ChatMessage): HTMLElement {
  if (message.deleted) return h('p', { class: 'body deleted' }, DELETED_TEXT);
  if (typeof message.body === 'string') return h('p', { class: 'body' }, message.body);
  return h('pre', { class: 'body' }, JSON.stringify(message.body, null, 2));
}

/** The author line: kind of injection, name, "(you)", time, "(edited)" and "mentions you". */
function metaLine(message: ChatMessage, self: string | undefined): HTMLElement {
  const time = new Date(message.timestamp * 1000);
  return h(
    'div',
    { class: 'meta' },
    message.type !== 'message' ? h('span', { class: 'kind' }, message.type) : undefined,
    h('span', { class: 'author' }, authorName(message)),
    h('span', { class: 'you' }, '(you)'),
    h(
      'time',
      { datetime: time.toISOString(), title: time.toLocaleString() },
      time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    ),
    message.edited && !message.deleted
      ? h(
          'span',
          { class: 'edited', title: `edited ${new Date(message.edited.at * 1000).toLocaleString()}` },
          '(edited)',
        )
      : undefined,
    mentionsMe(message, self) ? h('span', { class: 'mention-tag' }, 'mentions you') : undefined,
  );
}

/**
 * "Reply in thread" and "Mark unread" (shown with the other actions), and under a thread root its
 * reply count, which opens the thread too.
 */
function conversationControls(message: ChatMessage, actions: MessageActions): HTMLElement[] {
  const { openThread, markUnread } = actions;
  const count = message.replies?.count ?? 0;
  const controls: HTMLElement[] = [];
  if (openThread && message.parentId === undefined && count > 0) {
    controls.push(
      h(
        'button',
        {
          type: 'button',
          class: 'chip reply-count',
          'aria-label': `Open thread: ${repliesText(count)}`,
          onclick: () => openThread(message.id),
        },
        repliesText(count),
      ),
    );
  }
  const chips: HTMLElement[] = [];
  if (openThread && message.parentId === undefined && !message.deleted) {
    chips.push(
      h(
        'button',
        { type: 'button', class: 'chip reply', onclick: () => openThread(message.id) },
        'Reply in thread',
      ),
    );
  }
  if (markUnread) {
    chips.push(
      h(
        'button',
        {
          type: 'button',
          class: 'chip mark-unread',
          onclick: (event) => {
            // Focus left here by a pointer would keep this message's actions open, and closing
            // them later would move the messages below under the pointer; the keyboard keeps it.
            if ((event as MouseEvent).detail > 0) (event.currentTarget as HTMLElement).blur();
            markUnread(message.id);
          },
        },
        'Mark unread',
      ),
    );
  }
  if (chips.length > 0) controls.push(h('div', { class: 'msg-actions' }, ...chips));
  return controls;
}

/** Edit and Delete (CSS shows them on own chat lines only, and out of the tab order elsewhere). */
function ownActions(message: ChatMessage, actions: MessageActions): HTMLElement {
  return h(
    'div',
    { class: 'own-actions' },
    h(
      'button',
      {
        type: 'button',
        class: 'chip edit',
        'aria-label': 'Edit message',
        onclick: () => actions.edit(message.id),
      },
      'Edit',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'chip delete',
        'aria-label': 'Delete message',
        onclick: () => actions.remove(message.id),
      },
      'Delete',
    ),
  );
}

/** The reactions used, with counts (your own pressed), and the add-reaction control with its picker. */
export function reactionBar(
  message: ChatMessage,
  self: string | undefined,
  actions: MessageActions,
): HTMLElement {
  const reactions: Reactions = message.reactions ?? {};
  const used = Object.entries(reactions).filter(([, summary]) => summary.count > 0);
  const picker = h(
    'div',
    { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction', hidden: true },
    ...QUICK_REACTIONS.map((emoji) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip pick',
          'data-emoji': emoji,
          'aria-label': `React with ${emoji}`,
          onclick: () => {
            picker.hidden = true;
            add.setAttribute('aria-expanded', 'false');
            actions.react(message.id, emoji);
          },
        },
        emoji,
      ),
    ),
  );
  const add = h(
    'button',
    {
      type: 'button',
      class: 'chip add-reaction',
      'aria-label': 'Add a reaction',
      'aria-expanded': 'false',
      title: 'Add a reaction',
      onclick: () => {
        picker.hidden = !picker.hidden;
        add.setAttribute('aria-expanded', String(!picker.hidden));
        if (!picker.hidden) picker.querySelector<HTMLElement>('button')?.focus();
      },
      onkeydown: (event) => {
        if ((event as KeyboardEvent).key === 'Escape') picker.hidden = true;
      },
    },
    h('span', { 'aria-hidden': 'true' }, '☺+'),
  );
  return h(
    'div',
    { class: `reactions${used.length > 0 ? ' used' : ''}`, role: 'group', 'aria-label': 'Reactions' },
    ...used.map(([emoji, summary]) => {
      const mine = self !== undefined && summary.users.includes(self);
      const people = `${summary.count} ${summary.count === 1 ? 'reaction' : 'reactions'}`;
      return h(
        'button',
        {
          type: 'button',
          class: 'chip reaction used',
          'data-emoji': emoji,
          'aria-pressed': String(mine),
          'aria-label': mine
            ? `Remove your ${emoji} reaction (${people})`
            : `React with ${emoji} (${people})`,
          title: summary.users.length ? summary.users.join(', ') : `React with ${emoji}`,
          onclick: () => actions.react(message.id, emoji),
        },
        h('span', { 'aria-hidden': 'true' }, emoji),
        h('span', { class: 'count', 'aria-hidden': 'true' }, String(summary.count)),
      );
    }),
    add,
    picker,
  );
}

/** The parts of a message item that change (avatar, meta, body, actions, reactions), built anew. */
export function messageContent(
  message: ChatMessage,
  self: string | undefined,
  actions: MessageActions,
): Node[] {
  const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(authorName(message)));
  const meta = metaLine(message, self);
  const conversation = conversationControls(message, actions);
  if (message.deleted) return [avatar, meta, bodyNode(message), ...conversation];
  const chat = message.type === 'message' && typeof message.body === 'string';
  // On a touch screen (no hover) the actions open from this menu button; CSS hides it elsewhere.
  const more = h(
    'button',
    {
      type: 'button',
      class: 'chip more',
      'aria-label': 'Message actions',
      'aria-expanded': 'false',
      onclick: (event) => {
        const button = event.currentTarget as HTMLElement;
        const open = button.closest('.msg')?.classList.toggle('open') ?? false;
        button.setAttribute('aria-expanded', String(open));
      },
    },
    h('span', { 'aria-hidden': 'true' }, '⋯'),
  );
  return chat
    ? [
        avatar,
        meta,
        bodyNode(message),
        more,
        ownActions(message, actions),
        reactionBar(message, self, actions),
        ...conversation,
      ]
    : [avatar, meta, bodyNode(message), more, reactionBar(message, self, actions), ...conversation];
}

/** "Today", "Yesterday" or the date, for the separator above a day's first message. */
export function dayLabel(timestamp: number, now = new Date()): string {
  const day = new Date(timestamp * 1000);
  const start = (date: Date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  const days = Math.round((start(now) - start(day)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return day.toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/**
 * Marks `item` as continuing the previous message's run (same sender, same day, within
 * {@link GROUP_GAP_SECONDS}), and puts a day separator above it when it is the first of its day.
 */
export function placeInRun(item: HTMLElement, previous: ChatMessage | undefined, message: ChatMessage): void {
  const sameDay =
    previous !== undefined &&
    new Date(previous.timestamp * 1000).toDateString() === new Date(message.timestamp * 1000).toDateString();
  const continued =
    sameDay &&
    previous.type === 'message' &&
    message.type === 'message' &&
    previous.senderId === message.senderId &&
    message.timestamp - previous.timestamp < GROUP_GAP_SECONDS;
  item.classList.toggle('continued', continued);
  // Drop a separator this item had (an earlier message of the same day may have arrived above it).
  for (let before = item.previousElementSibling; before && !before.matches('li.msg'); ) {
    const next = before.previousElementSibling;
    if (before.matches('li.day')) before.remove();
    before = next;
  }
  if (sameDay) return;
  const label = dayLabel(message.timestamp);
  // A list item holding the separator: an <ol> holds only list items.
  item.before(
    h('li', { class: 'day' }, h('div', { role: 'separator', 'aria-label': label }, h('span', {}, label))),
  );
}
