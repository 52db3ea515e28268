/**
 * A thread beside the room's messages: the root, its replies oldest first (earlier pages on
 * demand), and a composer that replies in it. Replies arriving live are added once each, and the
 * count follows the room's `replies` events. On a phone it takes the screen, with a back control.
 */
import { type ChatMessage, compareIds } from '../protocol/index.js';
import { Composer } from './composer.js';
import { h } from './dom.js';
import type { MentionDirectory } from './mentions.js';
import { type MessageActions, mentionsMe, messageContent, repliesText } from './message-item.js';
import type { RoomClient } from './room-signals.js';

/** Replies a thread view loads per page. */
export const THREAD_PAGE_SIZE = 50;

/** The thread view of one room panel (one thread open at a time). */
export class ThreadView {
  /** The region beside the log; hidden while no thread is open. */
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly count: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly earlierButton: HTMLButtonElement;
  private readonly composerSlot: HTMLElement;
  private composer: Composer | undefined;
  private root: string | undefined;
  private oldestReply: string | undefined;
  private opener: HTMLElement | null = null;
  private opening = 0;

  constructor(
    private readonly client: RoomClient,
    private readonly id: string,
    private readonly mentions: MentionDirectory,
    private readonly actions: MessageActions,
    private readonly onClose: () => void,
  ) {
    const titleId = `${id}-title`;
    this.title = h('h3', { id: titleId }, 'Thread');
    this.count = h('p', { class: 'thread-count' });
    this.list = h('ol', { class: 'thread-log', 'aria-label': 'Thread messages', tabindex: 0 });
    this.earlierButton = h(
      'button',
      { type: 'button', class: 'earlier', hidden: true, onclick: () => void this.loadEarlier() },
      'Load earlier replies',
    );
    this.composerSlot = h('div', { class: 'thread-composer' });
    this.element = h(
      'div',
      { class: 'thread', id, role: 'region', 'aria-labelledby': titleId, hidden: true },
      h(
        'div',
        { class: 'thread-header' },
        h(
          'button',
          { type: 'button', class: 'thread-close', onclick: () => this.close() },
          h('span', { class: 'wide' }, 'Close thread'),
          h('span', { class: 'narrow' }, `← Back to ${client.room}`),
        ),
        this.title,
        this.count,
      ),
      this.earlierButton,
      h(
        'div',
        { class: 'thread-region', role: 'log', 'aria-live': 'polite', 'aria-label': 'Replies' },
        this.list,
      ),
      this.composerSlot,
    );
  }

  /** The root of the open thread. */
  get rootId(): string | undefined {
    return this.root;
  }

  /** Opens the thread of `rootId`: its root and newest replies, and a composer that replies in it. */
  async open(rootId: string): Promise<void> {
    const generation = ++this.opening;
    this.opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.root = rootId;
    this.oldestReply = undefined;
    this.list.replaceChildren();
    this.count.textContent = 'Loading…';
    this.element.hidden = false;
    this.composer?.dispose();
    this.composer = new Composer({
      id: `${this.id}-reply`,
      label: 'Reply in thread',
      placeholder: 'Reply — Enter sends, Shift+Enter adds a line',
      client: this.client,
      mentions: this.mentions,
      parentId: rootId,
      send: (text, ids) => this.client.reply(rootId, text, ids.length ? { mentions: ids } : {}),
    });
    this.composerSlot.replaceChildren(this.composer.form);
    this.composer.focus();
    try {
      const answer = await this.client.thread(rootId, { limit: THREAD_PAGE_SIZE });
      if (generation !== this.opening) return;
      this.show(answer.root);
      for (const reply of answer.replies) this.show(reply);
      this.oldestReply = answer.replies[0]?.id;
      this.earlierButton.hidden = !answer.page.more;
      this.showCount(answer.root.replies?.count ?? answer.replies.length);
    } catch (error) {
      if (generation !== this.opening) return;
      this.count.textContent = '';
      this.composer.showFailure(error);
    }
  }

  /** Closes the thread and gives focus back to what opened it. */
  close(): void {
    if (this.root === undefined) return;
    this.opening += 1;
    this.root = undefined;
    this.element.hidden = true;
    this.composer?.dispose();
    this.composer = undefined;
    this.composerSlot.replaceChildren();
    this.list.replaceChildren();
    this.onClose();
    if (this.opener?.isConnected) this.opener.focus();
  }

  /** A message of the room arrived: a reply of the open thread is added (once). */
  add(message: ChatMessage): void {
    if (this.root !== undefined && message.parentId === this.root) this.show(message);
  }

  /** A message changed (edit, delete, reaction, reply count): its copy here is re-rendered. */
  update(message: ChatMessage): void {
    const item = this.item(message.id);
    if (!item) return;
    item.replaceChildren(...this.content(message));
    item.classList.toggle('deleted', message.deleted === true);
    if (message.id === this.root && message.replies) this.showCount(message.replies.count);
  }

  /** The thread's reply count changed. */
  replies(rootId: string, count: number): void {
    if (rootId === this.root) this.showCount(count);
  }

  /** The composer's state follows the connection. */
  refresh(): void {
    this.composer?.updateCounter();
  }

  dispose(): void {
    this.composer?.dispose();
  }

  private showCount(count: number): void {
    this.count.textContent = repliesText(count);
  }

  /** The item of a message shown in the thread. */
  item(id: string): HTMLElement | null {
    return this.list.querySelector<HTMLElement>(`li.msg[data-id="${CSS.escape(id)}"]`);
  }

  private content(message: ChatMessage): Node[] {
    const { edit, remove, react } = this.actions;
    return messageContent(message, this.client.userId, { edit, remove, react });
  }

  private show(message: ChatMessage): void {
    if (this.item(message.id)) return;
    const self = this.client.userId;
    const own = self !== undefined && message.senderId === self;
    const root = message.id === this.root;
    const item = h(
      'li',
      {
        class: `msg${root ? ' thread-root' : ''}${own ? ' own' : ''}${mentionsMe(message, self) ? ' mentioned' : ''}${message.deleted ? ' deleted' : ''}`,
        'data-id': message.id,
        'data-sender': message.senderId,
      },
      ...this.content(message),
    );
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    // The root first, then replies in id order.
    let after: Element | null = this.list.lastElementChild;
    while (after && !root) {
      const id = after.getAttribute('data-id');
      if (id && (id === this.root || compareIds(id, message.id) < 0)) break;
      after = after.previousElementSibling;
    }
    if (after && !root) after.after(item);
    else this.list.prepend(item);
    if (nearBottom || own) this.list.scrollTop = this.list.scrollHeight;
  }

  private async loadEarlier(): Promise<void> {
    const root = this.root;
    const before = this.oldestReply;
    if (root === undefined || before === undefined) return;
    this.earlierButton.disabled = true;
    try {
      const answer = await this.client.thread(root, { limit: THREAD_PAGE_SIZE, before });
      if (root !== this.root) return;
      for (const reply of answer.replies) this.show(reply);
      this.oldestReply = answer.replies[0]?.id ?? before;
      this.earlierButton.hidden = !answer.page.more;
    } catch (error) {
      this.composer?.showFailure(error);
    } finally {
      this.earlierButton.disabled = false;
    }
  }
}
