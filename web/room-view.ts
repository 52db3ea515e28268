import { type MessageMeta, ModerationError, type StateChange } from '@hipochat/client';
import { type ChatMessage, compareIds } from '../protocol/index.js';
import { Composer } from './composer.js';
import { h } from './dom.js';
import { MentionDirectory } from './mentions.js';
import { MessageEditor } from './message-editor.js';
import {
  authorName,
  type MessageActions,
  mentionsMe,
  messageContent,
  placeInRun,
  reactionBar,
} from './message-item.js';
import { profileName, type RoomClient, RoomSignals } from './room-signals.js';
import { ThreadView } from './thread-view.js';

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

/** One joined room: its panel (state, messages, composer) and the client behind it. */
export class RoomView {
  /** The tab panel. */
  readonly panel: HTMLElement;
  private readonly log: HTMLOListElement;
  private readonly status: HTMLElement;
  private readonly composer: Composer;
  private readonly earlierButton: HTMLButtonElement;
  private readonly signals: RoomSignals;
  private readonly mentions = new MentionDirectory();
  private readonly thread: ThreadView;
  private dividerPlaced = false;
  private readonly editor: MessageEditor;
  private readonly actions: MessageActions = {
    edit: (id) => this.editor.startEdit(id),
    remove: (id) => this.editor.confirmDelete(id),
    react: (id, emoji) => void this.toggleReaction(id, emoji),
    openThread: (id) => void this.openThread(id),
    markUnread: (id) => void this.markUnread(id),
  };
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    readonly client: RoomClient,
    readonly id: string,
    private readonly onLeave: () => void,
    private readonly onActivity: (view: RoomView) => void,
  ) {
    this.editor = new MessageEditor({
      client,
      item: (messageId) => this.item(messageId) ?? this.thread.item(messageId),
      update: (message, closeEditor) => this.update(message, closeEditor),
      showError: (message) => this.showSendError(message),
    });
    const room = client.room;
    this.status = h('p', { class: 'state', role: 'status', 'data-state': 'connecting' }, 'Connecting…');
    // The list keeps its list semantics; the live "log" role sits on a wrapper (a role on <ol> would strip them).
    this.log = h('ol', { class: 'log', 'aria-label': `Messages in ${room}`, tabindex: 0 });
    const logRegion = h(
      'div',
      { class: 'log-region', role: 'log', 'aria-live': 'polite', 'aria-label': `Conversation in ${room}` },
      this.log,
    );
    this.composer = new Composer({
      id,
      label: `Message to ${room}`,
      placeholder: 'Write a message — Enter sends, Shift+Enter adds a line',
      client,
      mentions: this.mentions,
      send: (text, mentions) => client.send(text, mentions.length ? { mentions } : {}),
    });
    this.earlierButton = h(
      'button',
      { type: 'button', class: 'earlier', hidden: true, onclick: () => void this.loadEarlier() },
      'Load earlier messages',
    );
    this.signals = new RoomSignals(client, this.log, (profile, userId) =>
      this.mentions.learn(profileName(profile, ''), userId),
    );
    this.thread = new ThreadView(client, `${id}-thread`, this.mentions, this.actions, () =>
      this.panel.classList.remove('thread-open'),
    );
    this.panel = h(
      'section',
      { class: 'room', id, role: 'tabpanel', 'aria-label': `Room ${room}`, 'data-room': room },
      h(
        'div',
        { class: 'room-main' },
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
        this.composer.form,
      ),
      this.thread.element,
    );
    this.unsubscribe.push(
      client.on('message', (message, meta) => this.add(message, meta)),
      client.on('injection', (message, meta) => this.add(message, meta)),
      client.on('history', (batch) => {
        // Replies show in their thread, so the divider goes before the first unread message of the log.
        const unread = batch.unread.filter((m) => m.parentId === undefined);
        if (batch.initial && unread.length > 0) this.placeDivider(unread[0]!.id, unread.length);
        this.earlierButton.hidden = !batch.more;
      }),
      client.on('state', (change) => this.showState(change)),
      // Auth failures end the connection and show in the state line instead.
      // Refusals by moderation show next to the composer that sent, in words; a ban (which also
      // refuses following the room) shows at the room's own.
      client.on('error', (error) => {
        if (error.kind === 'moderation' && error.reason === 'banned') {
          this.composer.showFailure(new ModerationError(error.message, error.reason, error.retryAfter));
        } else if (error.kind !== 'auth' && error.kind !== 'moderation') this.showSendError(error.message);
      }),
      client.on('replies', (event) => {
        if (event.message) this.update(event.message);
        this.thread.replies(event.id, event.count);
      }),
      client.on('unread', (event) => {
        if (event.from !== undefined) this.placeDivider(event.from, event.count, true);
      }),
      client.on('presence', (event) => this.mentions.learn(profileName(event.user, ''), event.userId)),
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
    this.composer.focus();
  }

  /** Stops listening to the client. */
  dispose(): void {
    for (const off of this.unsubscribe) off();
    this.signals.dispose();
    this.composer.dispose();
    this.thread.dispose();
  }

  /** Opens the thread of a root beside the log (over it on a phone). */
  private async openThread(rootId: string): Promise<void> {
    this.panel.classList.add('thread-open');
    await this.thread.open(rootId);
  }

  /** Marks a message and what follows unread: the divider moves there, the tab shows the count. */
  private async markUnread(id: string): Promise<void> {
    try {
      await this.client.markUnread(id);
    } catch (error) {
      this.showSendError(`could not mark unread: ${error instanceof Error ? error.message : String(error)}`);
    }
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
    this.thread.update(message);
    const item = this.item(message.id);
    if (!item) return;
    item.classList.toggle('mentioned', mentionsMe(message, this.client.userId));
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
    if (message.author && message.senderId) this.mentions.learn(authorName(message), message.senderId);
    if (message.parentId !== undefined) {
      // A reply shows in its thread; its root's count says it is there.
      this.thread.add(message);
      if (meta.source === 'live' && !meta.own) this.onActivity(this);
      return;
    }
    if (this.item(message.id)) return;
    const injection = message.type !== 'message';
    const mentioned = meta.mentioned || mentionsMe(message, this.client.userId);
    const item = h(
      'li',
      {
        class: `msg${injection ? ' injection' : ''}${meta.own ? ' own' : ''}${mentioned ? ' mentioned' : ''}${message.deleted ? ' deleted' : ''}`,
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

  /** Puts the unread divider before a message; `move` (marked unread) takes it from where it was. */
  private placeDivider(firstUnreadId: string, count: number, move = false): void {
    if (this.dividerPlaced && !move) return;
    const first = this.log.querySelector(`li.msg[data-id="${CSS.escape(firstUnreadId)}"]`);
    if (!first) return;
    this.dividerPlaced = true;
    for (const old of this.log.querySelectorAll('li.divider')) old.remove();
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
    if (move) return;
    if (this.log.querySelector('li.msg') !== first) first.scrollIntoView({ block: 'center' });
    else this.log.scrollTop = this.log.scrollHeight;
  }

  private markOwn(userId: string): void {
    for (const item of this.log.querySelectorAll(`[data-sender="${CSS.escape(userId)}"]`)) {
      item.classList.add('own');
    }
    // Which reactions are yours, and which messages mention you, is known only now.
    for (const item of this.log.querySelectorAll<HTMLElement>('li.msg[data-id]')) {
      const message = this.client.getMessage(item.getAttribute('data-id') ?? '');
      if (message?.mentions) item.classList.toggle('mentioned', mentionsMe(message, userId));
      if (message?.reactions) this.update(message);
    }
    this.signals.renderSeen();
  }

  private showState(change: StateChange): void {
    this.status.textContent = describeState(change);
    this.status.setAttribute('data-state', change.state);
    this.panel.setAttribute('data-state', change.state);
    this.composer.updateCounter();
    this.thread.refresh();
  }

  private showSendError(message: string): void {
    this.composer.showError(message);
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
}
