import type { MessageMeta, StateChange } from '@hipochat/client';
import { type ChatMessage, compareIds } from '../protocol/index.js';
import { h } from './dom.js';
import { MessageEditor } from './message-editor.js';
import { type MessageActions, messageContent, placeInRun, reactionBar } from './message-item.js';
import { type RoomClient, RoomSignals } from './room-signals.js';

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
  private readonly editor: MessageEditor;
  private readonly actions: MessageActions = {
    edit: (id) => this.editor.startEdit(id),
    remove: (id) => this.editor.confirmDelete(id),
    react: (id, emoji) => void this.toggleReaction(id, emoji),
  };
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    readonly client: RoomClient,
    readonly id: string,
    private readonly onLeave: () => void,
    private readonly onActivity: (view: RoomView) => void,
  ) {
    this.maxBytes = client.maxMessageBytes;
    this.editor = new MessageEditor({
      client,
      item: (messageId) => this.item(messageId),
      update: (message, closeEditor) => this.update(message, closeEditor),
      showError: (message) => this.showSendError(message),
    });
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

  /** The parts of a message item that change, built anew. */
  private content(message: ChatMessage): Node[] {
    return messageContent(message, this.client.userId, this.actions);
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
      item.querySelector('.reactions')?.replaceWith(reactionBar(message, this.client.userId, this.actions));
      return;
    }
    const seen = item.querySelector('.seen');
    const day = item.querySelector(':scope > .day');
    item.replaceChildren(...this.content(message));
    if (day) item.prepend(day);
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
    this.regroup(item);
    const next = this.nextMessage(item);
    if (next) this.regroup(next);
    if (meta.own) this.signals.renderSeen();
    if (nearBottom || meta.own) this.log.scrollTop = this.log.scrollHeight;
    if (meta.source === 'live' && !meta.own) this.onActivity(this);
  }

  private nextMessage(item: Element): HTMLElement | null {
    let next = item.nextElementSibling;
    while (next && !next.matches('li.msg')) next = next.nextElementSibling;
    return next as HTMLElement | null;
  }

  /** Groups an item with the message before it (same author, within minutes) or heads its day. */
  private regroup(item: HTMLElement): void {
    let previous = item.previousElementSibling;
    while (previous && !previous.matches('li.msg')) previous = previous.previousElementSibling;
    const message = this.client.getMessage(item.getAttribute('data-id') ?? '');
    if (!message) return;
    const before = previous ? this.client.getMessage(previous.getAttribute('data-id') ?? '') : undefined;
    placeInRun(item, before, message);
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
    if (this.log.querySelector('li.msg') !== first) first.scrollIntoView({ block: 'center' });
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
