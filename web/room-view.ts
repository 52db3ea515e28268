import type { MessageMeta, StateChange } from '@hipochat/client';
import { type ChatMessage, compareIds, type Reactions } from '../protocol/index.js';
import { h } from './dom.js';
import { type RoomClient, RoomSignals } from './room-signals.js';

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

function describeState(change: StateChange): string {
  switch (change.state) {
    case 'idle':
    case 'connecting':
      return 'Connecting…';
    case 'live':
      return 'Live';
    case 'reconnecting': {
      const attempt = change.attempt ? ` (attempt ${change.attempt})` : '';
      const when = change.delayMs !== undefined ? ` in ${(change.delayMs / 1000).toFixed(1)} s` : '…';
      return `Reconnecting${when}${attempt}${change.reason ? `: ${change.reason}` : ''}`;
    }
    case 'closed':
      return `Closed: ${change.reason ?? 'connection closed'}`;
  }
}

/** Why an over-size message is not sent, in the words of the client library's refusal. */
function tooLarge(used: number, limit: number): string {
  return `message too large: ${used} bytes, the limit is ${limit} bytes; shorten it to send`;
}

/** The emoji every message offers in its reaction bar (others show once someone used them). */
export const QUICK_REACTIONS: readonly string[] = ['👍', '❤️', '😂', '🎉'];

/** What a tombstone shows instead of its body. */
export const DELETED_TEXT = 'This message was deleted';

function bodyNode(message: ChatMessage): HTMLElement {
  if (message.deleted) return h('p', { class: 'body deleted' }, DELETED_TEXT);
  if (typeof message.body === 'string') return h('p', { class: 'body' }, message.body);
  return h('pre', { class: 'body' }, JSON.stringify(message.body, null, 2));
}

/** One joined room: its panel (state, messages, composer) and the client behind it. */
export class RoomView {
  /** The tab panel. */
  readonly panel: HTMLElement;
  private readonly log: HTMLOListElement;
  private readonly status: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly counter: HTMLElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly sendError: HTMLElement;
  private readonly earlierButton: HTMLButtonElement;
  private readonly signals: RoomSignals;
  private readonly maxBytes: number;
  /** The error line says the text is too large (and is cleared once it fits again). */
  private sizeErrorShown = false;
  private dividerPlaced = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    readonly client: RoomClient,
    readonly id: string,
    private readonly onLeave: () => void,
    private readonly onActivity: (view: RoomView) => void,
  ) {
    this.maxBytes = client.maxMessageBytes;
    const room = client.room;
    const inputId = `${id}-input`;
    const counterId = `${id}-counter`;
    this.status = h('p', { class: 'state', role: 'status', 'data-state': 'connecting' }, 'Connecting…');
    // The list keeps its list semantics; the live "log" role sits on a wrapper (a role on <ol> would strip them).
    this.log = h('ol', { class: 'log', 'aria-label': `Messages in ${room}`, tabindex: 0 });
    const logRegion = h(
      'div',
      { class: 'log-region', role: 'log', 'aria-live': 'polite', 'aria-label': `Conversation in ${room}` },
      this.log,
    );
    this.input = h('textarea', {
      id: inputId,
      rows: 2,
      // No maxlength: it counts characters, not bytes, and cuts a paste without a word.
      'aria-describedby': counterId,
      placeholder: 'Write a message — Enter sends, Shift+Enter adds a line',
      onkeydown: (event) => this.onKey(event as KeyboardEvent),
      oninput: () => {
        this.updateCounter();
        // Throttled by the client to what the server delivers, so every keystroke may call it.
        if (this.input.value.trim() !== '') this.client.sendTyping();
      },
    });
    this.counter = h('span', { id: counterId, class: 'counter' });
    this.sendButton = h('button', { type: 'submit' }, 'Send');
    this.sendError = h('p', { class: 'send-error', role: 'alert' });
    this.earlierButton = h(
      'button',
      { type: 'button', class: 'earlier', hidden: true, onclick: () => void this.loadEarlier() },
      'Load earlier messages',
    );
    this.signals = new RoomSignals(client, this.log);
    const composer = h(
      'form',
      {
        class: 'composer',
        onsubmit: (event) => {
          event.preventDefault();
          void this.submit();
        },
      },
      h('label', { for: inputId }, `Message to ${room}`),
      this.input,
      h('div', { class: 'composer-row' }, this.counter, this.sendButton),
      this.sendError,
    );
    this.panel = h(
      'section',
      { class: 'room', id, role: 'tabpanel', 'aria-label': `Room ${room}`, 'data-room': room },
      h(
        'header',
        { class: 'room-header' },
        h('h2', {}, room),
        this.signals.occupancyLine,
        this.status,
        h('button', { type: 'button', class: 'leave', onclick: () => this.onLeave() }, `Leave ${room}`),
      ),
      this.signals.onlineSection,
      this.earlierButton,
      logRegion,
      this.signals.typingLine,
      composer,
    );
    this.updateCounter();
    this.unsubscribe.push(
      client.on('message', (message, meta) => this.add(message, meta)),
      client.on('injection', (message, meta) => this.add(message, meta)),
      client.on('history', (batch) => {
        if (batch.initial && batch.unread.length > 0)
          this.placeDivider(batch.unread[0]!.id, batch.unread.length);
        this.earlierButton.hidden = !batch.more;
      }),
      client.on('state', (change) => this.showState(change)),
      // Auth failures end the connection and show in the state line instead.
      client.on('error', (error) => {
        if (error.kind !== 'auth') this.showSendError(error.message);
      }),
      client.on('self', (userId) => this.markOwn(userId)),
      client.on('edit', (event) => {
        if (event.message) this.update(event.message);
      }),
      client.on('delete', (event) => {
        if (event.message) this.update(event.message);
      }),
      client.on('reaction', (event) => {
        if (event.message) this.update(event.message);
      }),
    );
  }

  /** Moves keyboard focus to the message box. */
  focus(): void {
    this.input.focus();
  }

  /** Stops listening to the client. */
  dispose(): void {
    for (const off of this.unsubscribe) off();
    this.signals.dispose();
  }

  private item(id: string): HTMLElement | null {
    return this.log.querySelector<HTMLElement>(`li.msg[data-id="${CSS.escape(id)}"]`);
  }

  /** The parts of a message item that change (body, edited mark, actions, reactions), built anew. */
  private content(message: ChatMessage): Node[] {
    const injection = message.type !== 'message';
    const time = new Date(message.timestamp * 1000);
    const meta = h(
      'div',
      { class: 'meta' },
      injection ? h('span', { class: 'kind' }, message.type) : undefined,
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
    );
    if (message.deleted) return [meta, bodyNode(message)];
    // Edit and Delete are shown on own chat lines only (CSS hides them elsewhere, out of the tab order too).
    const actions =
      !injection && typeof message.body === 'string'
        ? h(
            'div',
            { class: 'own-actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'chip edit',
                'aria-label': 'Edit message',
                onclick: () => this.startEdit(message.id),
              },
              'Edit',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'chip delete',
                'aria-label': 'Delete message',
                onclick: () => this.confirmDelete(message.id),
              },
              'Delete',
            ),
          )
        : undefined;
    return actions
      ? [meta, bodyNode(message), actions, this.reactionBar(message)]
      : [meta, bodyNode(message), this.reactionBar(message)];
  }

  /** The quick emoji and any others used, with counts; your own reactions are pressed. */
  private reactionBar(message: ChatMessage): HTMLElement {
    const reactions: Reactions = message.reactions ?? {};
    const self = this.client.userId;
    const emojis = [
      ...QUICK_REACTIONS,
      ...Object.keys(reactions).filter((e) => !QUICK_REACTIONS.includes(e)),
    ];
    return h(
      'div',
      { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      ...emojis.map((emoji) => {
        const summary = reactions[emoji];
        const count = summary?.count ?? 0;
        const mine = self !== undefined && (summary?.users.includes(self) ?? false);
        const people = `${count} ${count === 1 ? 'reaction' : 'reactions'}`;
        return h(
          'button',
          {
            type: 'button',
            class: `chip reaction${count > 0 ? ' used' : ''}`,
            'data-emoji': emoji,
            'aria-pressed': String(mine),
            'aria-label': mine
              ? `Remove your ${emoji} reaction (${people})`
              : `React with ${emoji} (${people})`,
            title: summary?.users.length ? summary.users.join(', ') : `React with ${emoji}`,
            onclick: () => void this.toggleReaction(message.id, emoji),
          },
          h('span', { 'aria-hidden': 'true' }, emoji),
          count > 0 ? h('span', { class: 'count', 'aria-hidden': 'true' }, String(count)) : undefined,
        );
      }),
    );
  }

  /**
   * Re-renders a message shown. Under an open edit box only its reactions change (the box keeps
   * what is typed) unless `closeEditor` (the edit was saved or cancelled).
   */
  private update(message: ChatMessage, closeEditor = false): void {
    const item = this.item(message.id);
    if (!item) return;
    const editing = item.querySelector('.edit-box');
    const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const focused = active !== null && item.contains(active);
    const focusedEmoji = focused ? active.getAttribute('data-emoji') : null;
    const focusedClass = focused ? active.className.split(' ').find((c) => c !== 'chip') : undefined;
    if (message.deleted) item.classList.add('deleted');
    if (editing && !closeEditor && !message.deleted) {
      // Only the reactions change under an open edit box; the new body shows once it closes.
      item.querySelector('.reactions')?.replaceWith(this.reactionBar(message));
      return;
    }
    const seen = item.querySelector('.seen');
    item.replaceChildren(...this.content(message));
    if (seen) item.append(seen);
    // Keep keyboard focus where it was (a reaction button re-rendered under it).
    const target = focusedEmoji
      ? item.querySelector<HTMLElement>(`[data-emoji="${CSS.escape(focusedEmoji)}"]`)
      : focusedClass
        ? item.querySelector<HTMLElement>(`.${CSS.escape(focusedClass)}`)
        : null;
    // Nothing to return to (the message was deleted under its confirm button): the log keeps focus.
    if (focused) (target ?? this.log).focus();
  }

  private async toggleReaction(id: string, emoji: string): Promise<void> {
    try {
      await this.client.react(id, emoji);
    } catch (error) {
      this.showSendError(error instanceof Error ? error.message : String(error));
    }
  }

  /** Replaces the body by an edit box: Enter saves, Shift+Enter adds a line, Escape cancels. */
  private startEdit(id: string): void {
    const item = this.item(id);
    const message = this.client.getMessage(id);
    if (!item || !message || message.deleted || typeof message.body !== 'string') return;
    const body = item.querySelector('.body');
    const actions = item.querySelector<HTMLElement>('.own-actions');
    if (!body || item.querySelector('.edit-box')) return;
    const original = message.body;
    const box = h('textarea', {
      class: 'edit-box',
      rows: 2,
      'aria-label': 'Edit message (Enter saves, Escape cancels)',
    });
    box.value = original;
    const cancel = () => {
      const current = this.client.getMessage(id) ?? message;
      this.update(current, true);
      this.item(id)?.querySelector<HTMLElement>('.edit')?.focus();
    };
    const save = async () => {
      const text = box.value;
      if (text.trim() === '' || text === original) return cancel();
      box.disabled = true;
      try {
        await this.client.edit(id, text);
        // The edit frame re-renders it too; this covers a connection without signals.
        const current = this.client.getMessage(id);
        if (current && current.body !== text) {
          this.update(
            {
              ...current,
              body: text,
              edited: { at: Date.now() / 1000, by: this.client.userId ?? null },
            },
            true,
          );
        } else if (current) this.update(current, true);
        this.item(id)?.querySelector<HTMLElement>('.edit')?.focus();
      } catch (error) {
        box.disabled = false;
        this.showSendError(error instanceof Error ? error.message : String(error));
        box.focus();
      }
    };
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        cancel();
      } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void save();
      }
    });
    body.replaceWith(box);
    if (actions) actions.hidden = true;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  /** Asks in place before deleting: the Delete button becomes "Delete this message? Delete / Cancel". */
  private confirmDelete(id: string): void {
    const item = this.item(id);
    const actions = item?.querySelector<HTMLElement>('.own-actions');
    if (!item || !actions || item.querySelector('.confirm')) return;
    const close = () => {
      confirm.remove();
      actions.hidden = false;
      actions.querySelector<HTMLElement>('.delete')?.focus();
    };
    const no = h('button', { type: 'button', class: 'chip cancel', onclick: close }, 'Cancel');
    const yes = h(
      'button',
      {
        type: 'button',
        class: 'chip confirm-delete',
        onclick: async () => {
          yes.disabled = true;
          try {
            await this.client.delete(id);
            const current = this.client.getMessage(id);
            if (current && !current.deleted) {
              const { body: _body, ...rest } = current;
              this.update({ ...rest, body: undefined, deleted: true });
            }
          } catch (error) {
            this.showSendError(error instanceof Error ? error.message : String(error));
            close();
          }
        },
      },
      'Delete',
    );
    const confirm = h(
      'div',
      {
        class: 'confirm',
        role: 'group',
        'aria-label': 'Confirm deletion',
        onkeydown: (event) => {
          if ((event as KeyboardEvent).key === 'Escape') close();
        },
      },
      h('span', {}, 'Delete this message?'),
      yes,
      no,
    );
    actions.hidden = true;
    actions.after(confirm);
    no.focus();
  }

  private add(message: ChatMessage, meta: MessageMeta): void {
    if (this.item(message.id)) return;
    const injection = message.type !== 'message';
    const item = h(
      'li',
      {
        class: `msg${injection ? ' injection' : ''}${meta.own ? ' own' : ''}${message.deleted ? ' deleted' : ''}`,
        'data-id': message.id,
        'data-sender': message.senderId,
        'data-type': message.type,
      },
      ...this.content(message),
    );
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    // Ids are ordered: insert after the last item that comes before this one.
    let after: Element | null = this.log.lastElementChild;
    while (after) {
      const id = after.getAttribute('data-id');
      if (id && compareIds(id, message.id) < 0) break;
      after = after.previousElementSibling;
    }
    if (after) after.after(item);
    else this.log.prepend(item);
    if (meta.own) this.signals.renderSeen();
    if (nearBottom || meta.own) this.log.scrollTop = this.log.scrollHeight;
    if (meta.source === 'live' && !meta.own) this.onActivity(this);
  }

  private placeDivider(firstUnreadId: string, count: number): void {
    if (this.dividerPlaced) return;
    const first = this.log.querySelector(`[data-id="${CSS.escape(firstUnreadId)}"]`);
    if (!first) return;
    this.dividerPlaced = true;
    const label = `${count} unread message${count === 1 ? '' : 's'}`;
    first.before(
      // The item stays a list item (an <ol> holds only those); the separator is inside it.
      h(
        'li',
        { class: 'divider', 'data-before': firstUnreadId },
        h('div', { role: 'separator', 'aria-label': label }, h('span', {}, label)),
      ),
    );
    // Open where reading resumes; with nothing read yet (a newcomer), at the newest message.
    if (first.previousElementSibling?.previousElementSibling) first.scrollIntoView({ block: 'center' });
    else this.log.scrollTop = this.log.scrollHeight;
  }

  private markOwn(userId: string): void {
    for (const item of this.log.querySelectorAll(`[data-sender="${CSS.escape(userId)}"]`)) {
      item.classList.add('own');
    }
    // Which reactions are yours is known only now.
    for (const item of this.log.querySelectorAll<HTMLElement>('li.msg[data-id]')) {
      const message = this.client.getMessage(item.getAttribute('data-id') ?? '');
      if (message?.reactions) this.update(message);
    }
    this.signals.renderSeen();
  }

  private showState(change: StateChange): void {
    this.status.textContent = describeState(change);
    this.status.setAttribute('data-state', change.state);
    this.panel.setAttribute('data-state', change.state);
    this.updateCounter();
  }

  private showSendError(message: string): void {
    this.sendError.textContent = message;
    this.sizeErrorShown = false;
  }

  /** Fetches the page before the oldest message shown, keeping the messages on screen in place. */
  private async loadEarlier(): Promise<void> {
    const button = this.earlierButton;
    button.disabled = true;
    button.textContent = 'Loading earlier messages…';
    const fromBottom = this.log.scrollHeight - this.log.scrollTop;
    try {
      await this.client.loadEarlier();
      this.log.scrollTop = this.log.scrollHeight - fromBottom;
    } catch (error) {
      this.showSendError(
        `could not load earlier messages: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      button.disabled = false;
      button.textContent = 'Load earlier messages';
      button.hidden = !this.client.hasEarlier;
    }
  }

  /** The frame's size as the server measures it (the whole frame, UTF-8), against the limit. */
  private updateCounter(): void {
    const text = this.input.value;
    const used = this.client.frameBytes(text);
    const over = used > this.maxBytes;
    this.counter.textContent = `${used} / ${this.maxBytes} bytes`;
    this.counter.classList.toggle('over', over);
    this.input.setAttribute('aria-invalid', String(over));
    this.sendButton.disabled = over || this.client.state !== 'live';
    if (over) {
      this.showSendError(tooLarge(used, this.maxBytes));
      this.sizeErrorShown = true;
    } else if (this.sizeErrorShown) {
      this.showSendError('');
    }
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    void this.submit();
  }

  private async submit(): Promise<void> {
    const text = this.input.value;
    if (text.trim() === '') return;
    this.showSendError('');
    const used = this.client.frameBytes(text);
    if (used > this.maxBytes) {
      this.showSendError(tooLarge(used, this.maxBytes));
      this.sizeErrorShown = true;
      return;
    }
    // Clear at once so a quick second Enter cannot send the same text twice.
    this.input.value = '';
    this.updateCounter();
    try {
      await this.client.send(text);
    } catch (error) {
      this.showSendError(error instanceof Error ? error.message : String(error));
      // Give the text back so nothing typed is lost.
      if (this.input.value === '') {
        this.input.value = text;
        this.updateCounter();
      }
    }
  }
}
