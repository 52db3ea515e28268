/**
 * A message box with its byte counter, Send button and error line: the room's composer and a
 * thread's. Enter sends, Shift+Enter adds a line; `@name` of someone known becomes a mention; an
 * over-size text is never cut nor sent; a refusal by moderation is said in words next to the box
 * (rejected with the reason, or muted/banned with the seconds left, counting down).
 */
import { ModerationError } from '@hipochat/client';
import { h } from './dom.js';
import type { MentionDirectory } from './mentions.js';
import { refusalText } from './refusals.js';
import type { RoomClient } from './room-signals.js';

/** Why an over-size message is not sent, in the words of the client library's refusal. */
function tooLarge(used: number, limit: number): string {
  return `message too large: ${used} bytes, the limit is ${limit} bytes; shorten it to send`;
}

/** What a composer is for. */
export interface ComposerOptions {
  /** Prefix of its element ids (unique on the page). */
  id: string;
  label: string;
  placeholder: string;
  client: RoomClient;
  mentions: MentionDirectory;
  /** The thread root a reply composer answers in. */
  parentId?: string;
  /** Sends a text with the ids it mentions. */
  send(text: string, mentions: string[]): Promise<unknown>;
}

/** One message box. */
export class Composer {
  readonly form: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  private readonly counter: HTMLElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly errorLine: HTMLElement;
  private readonly maxBytes: number;
  /** The error line says the text is too large (and is cleared once it fits again). */
  private sizeErrorShown = false;
  private restrictedUntil = 0;
  private countdown: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: ComposerOptions) {
    const { id, client } = options;
    this.maxBytes = client.maxMessageBytes;
    const inputId = `${id}-input`;
    const counterId = `${id}-counter`;
    this.input = h('textarea', {
      id: inputId,
      rows: 2,
      // No maxlength: it counts characters, not bytes, and cuts a paste without a word.
      'aria-describedby': counterId,
      placeholder: options.placeholder,
      onkeydown: (event) => this.onKey(event as KeyboardEvent),
      oninput: () => {
        this.updateCounter();
        // Throttled by the client to what the server delivers, so every keystroke may call it.
        if (this.input.value.trim() !== '') client.sendTyping();
      },
    });
    this.counter = h('span', { id: counterId, class: 'counter' });
    this.sendButton = h('button', { type: 'submit' }, 'Send');
    this.errorLine = h('p', { class: 'send-error', role: 'alert' });
    this.form = h(
      'form',
      {
        class: 'composer',
        onsubmit: (event) => {
          event.preventDefault();
          void this.submit();
        },
      },
      h('label', { for: inputId }, options.label),
      this.input,
      h('div', { class: 'composer-row' }, this.counter, this.sendButton),
      this.errorLine,
    );
    this.updateCounter();
  }

  focus(): void {
    this.input.focus();
  }

  /** Stops the countdown of a mute. */
  dispose(): void {
    clearInterval(this.countdown);
  }

  /** Shows why something failed (empty clears the line). */
  showError(message: string): void {
    this.errorLine.textContent = message;
    this.errorLine.removeAttribute('data-reason');
    this.sizeErrorShown = false;
  }

  /** Shows a failure: a refusal by moderation in words, anything else in the error's text. */
  showFailure(error: unknown): void {
    clearInterval(this.countdown);
    this.restrictedUntil = 0;
    if (!(error instanceof ModerationError)) {
      this.showError(error instanceof Error ? error.message : String(error));
      return;
    }
    this.showError(refusalText(error.reason, error.retryAfter));
    this.errorLine.setAttribute('data-reason', error.reason);
    if (error.retryAfter === undefined || error.retryAfter <= 0) return;
    this.restrictedUntil = Date.now() + error.retryAfter * 1000;
    this.updateCounter();
    this.countdown = setInterval(() => {
      const left = Math.ceil((this.restrictedUntil - Date.now()) / 1000);
      if (left > 0) {
        this.errorLine.textContent = refusalText(error.reason, left);
        return;
      }
      clearInterval(this.countdown);
      this.restrictedUntil = 0;
      this.showError('');
      this.updateCounter();
    }, 1000);
  }

  /** The frame's size as the server measures it (the whole frame, UTF-8), against the limit. */
  updateCounter(): void {
    const text = this.input.value;
    const used = this.bytes(text);
    const over = used > this.maxBytes;
    this.counter.textContent = `${used} / ${this.maxBytes} bytes`;
    this.counter.classList.toggle('over', over);
    this.input.setAttribute('aria-invalid', String(over));
    const restricted = this.restrictedUntil > Date.now();
    this.sendButton.disabled = over || restricted || this.options.client.state !== 'live';
    if (over) {
      this.showError(tooLarge(used, this.maxBytes));
      this.sizeErrorShown = true;
    } else if (this.sizeErrorShown) {
      this.showError('');
    }
  }

  private bytes(text: string): number {
    const parentId = this.options.parentId;
    const mentions = this.options.mentions.resolve(text);
    return this.options.client.frameBytes(text, { ...(parentId ? { parentId } : {}), mentions });
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    void this.submit();
  }

  private async submit(): Promise<void> {
    const text = this.input.value;
    if (text.trim() === '' || this.restrictedUntil > Date.now()) return;
    this.showError('');
    const used = this.bytes(text);
    if (used > this.maxBytes) {
      this.showError(tooLarge(used, this.maxBytes));
      this.sizeErrorShown = true;
      return;
    }
    // Clear at once so a quick second Enter cannot send the same text twice.
    this.input.value = '';
    this.updateCounter();
    try {
      await this.options.send(text, this.options.mentions.resolve(text));
    } catch (error) {
      this.showFailure(error);
      // Give the text back so nothing typed is lost.
      if (this.input.value === '') {
        this.input.value = text;
        this.updateCounter();
      }
    }
  }
}
