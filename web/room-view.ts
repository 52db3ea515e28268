import { type ChatMessage, compareIds } from '../protocol/index.js';
import type { HipochatClient, MessageMeta, StateChange } from './client/hipochat-client.js';
import { h } from './dom.js';
import { RoomSignals } from './room-signals.js';

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

function bodyNode(message: ChatMessage): HTMLElement {
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
    readonly client: HipochatClient,
    readonly id: string,
    private readonly onLeave: () => void,
    private readonly onActivity: (view: RoomView) => void,
  ) {
    this.maxBytes = client.maxMessageBytes;
    const room = client.room;
    const inputId = `${id}-input`;
    const counterId = `${id}-counter`;
    this.status = h('p', { class: 'state', role: 'status', 'data-state': 'connecting' }, 'Connecting…');
    this.log = h('ol', {
      class: 'log',
      role: 'log',
      'aria-live': 'polite',
      'aria-label': `Messages in ${room}`,
      tabindex: 0,
    });
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
        this.status,
        h('button', { type: 'button', class: 'leave', onclick: () => this.onLeave() }, `Leave ${room}`),
      ),
      this.signals.onlineSection,
      this.earlierButton,
      this.log,
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

  private add(message: ChatMessage, meta: MessageMeta): void {
    if (this.log.querySelector(`[data-id="${CSS.escape(message.id)}"]`)) return;
    const injection = message.type !== 'message';
    const time = new Date(message.timestamp * 1000);
    const item = h(
      'li',
      {
        class: `msg${injection ? ' injection' : ''}${meta.own ? ' own' : ''}`,
        'data-id': message.id,
        'data-sender': message.senderId,
        'data-type': message.type,
      },
      h(
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
      ),
      bodyNode(message),
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
      h(
        'li',
        { class: 'divider', role: 'separator', 'aria-label': label, 'data-before': firstUnreadId },
        h('span', {}, label),
      ),
    );
    first.scrollIntoView({ block: 'center' });
  }

  private markOwn(userId: string): void {
    for (const item of this.log.querySelectorAll(`[data-sender="${CSS.escape(userId)}"]`)) {
      item.classList.add('own');
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
