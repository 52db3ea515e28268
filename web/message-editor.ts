/**
 * Changing a message in place: an edit box instead of its body (Enter saves, Escape cancels), and
 * an inline "Delete this message?" before deleting it.
 */
import type { ChatMessage } from '../protocol/index.js';
import { h } from './dom.js';
import type { RoomClient } from './room-signals.js';

/** What the editor needs of the room view that shows the message. */
export interface EditorHost {
  readonly client: RoomClient;
  /** The list item of a message shown, if any. */
  item(id: string): HTMLElement | null;
  /** Re-renders a message shown (`closeEditor` drops an open edit box). */
  update(message: ChatMessage, closeEditor?: boolean): void;
  /** Shows why an action failed under the composer. */
  showError(message: string): void;
}

/** The in-place edit and delete controls of one room's messages. */
export class MessageEditor {
  constructor(private readonly host: EditorHost) {}

  /** Replaces the body by an edit box: Enter saves, Shift+Enter adds a line, Escape cancels. */
  startEdit(id: string): void {
    const item = this.host.item(id);
    const message = this.host.client.getMessage(id);
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
      const current = this.host.client.getMessage(id) ?? message;
      this.host.update(current, true);
      this.host.item(id)?.querySelector<HTMLElement>('.edit')?.focus();
    };
    const save = async () => {
      const text = box.value;
      if (text.trim() === '' || text === original) return cancel();
      box.disabled = true;
      try {
        await this.host.client.edit(id, text);
        // The edit frame re-renders it too; this covers a connection without signals.
        const current = this.host.client.getMessage(id);
        if (current && current.body !== text) {
          this.host.update(
            {
              ...current,
              body: text,
              edited: { at: Date.now() / 1000, by: this.host.client.userId ?? null },
            },
            true,
          );
        } else if (current) this.host.update(current, true);
        this.host.item(id)?.querySelector<HTMLElement>('.edit')?.focus();
      } catch (error) {
        box.disabled = false;
        this.host.showError(error instanceof Error ? error.message : String(error));
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
  confirmDelete(id: string): void {
    const item = this.host.item(id);
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
            await this.host.client.delete(id);
            const current = this.host.client.getMessage(id);
            if (current && !current.deleted) {
              const { body: _body, ...rest } = current;
              this.host.update({ ...rest, body: undefined, deleted: true });
            }
          } catch (error) {
            this.host.showError(error instanceof Error ? error.message : String(error));
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
}
