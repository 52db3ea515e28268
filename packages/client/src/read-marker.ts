/**
 * When a client marks its room read: only while the reader is looking, at most once per interval
 * (a request inside the interval is served once at its end), never more often however many
 * messages arrive. Each mark is a `GET /talk/old` that moves the reader's read mark, which every
 * signals connection of the room hears of, so fewer marks make a cheaper room.
 */

/** The least time between two read marks of one client. */
export const READ_MARK_INTERVAL_MS = 2000;

/** Whether the reader is looking at the room: in a browser, the page is visible and has focus. */
export function pageIsReading(): boolean {
  // The library also runs in Node, which has no document (and compiles without the DOM types).
  const page = (globalThis as { document?: { visibilityState: string; hasFocus(): boolean } }).document;
  if (!page) return true;
  return page.visibilityState === 'visible' && page.hasFocus();
}

/** Options of {@link ReadMarker}. */
export interface ReadMarkerOptions {
  /** Marks the room read (the catch-up call). */
  mark: () => Promise<unknown>;
  /** Whether the reader is looking now. @default {@link pageIsReading} */
  isReading?: () => boolean;
  /** @default {@link READ_MARK_INTERVAL_MS} */
  intervalMs?: number;
}

/** Throttles and gates a client's read marks. */
export class ReadMarker {
  private last = Number.NEGATIVE_INFINITY;
  /** Something arrived since the last mark. */
  private owed = false;
  /** The user marked the room unread: no mark until {@link release}. */
  private holding = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly intervalMs: number;
  private readonly isReading: () => boolean;

  constructor(private readonly options: ReadMarkerOptions) {
    this.intervalMs = options.intervalMs ?? READ_MARK_INTERVAL_MS;
    this.isReading = options.isReading ?? pageIsReading;
  }

  /** Something arrived that the reader has not marked read yet (a live message of another user). */
  owe(): void {
    this.owed = true;
  }

  /**
   * The user marked the room unread: nothing is marked read (however many messages arrive) until
   * {@link release}, when the reader looks at the room again.
   */
  hold(): void {
    this.holding = true;
    this.owed = true;
    this.cancel();
  }

  /** Whether marks wait for {@link release} (the room was marked unread). */
  get held(): boolean {
    return this.holding;
  }

  /** Ends a {@link hold}: the next request marks what is owed. */
  release(): void {
    this.holding = false;
  }

  /**
   * Marks what is owed: now, or once when the interval ends. Nothing while nothing is owed or the
   * reader is not looking; the next request after they look again marks it.
   */
  request(): void {
    if (!this.owed || this.holding || this.timer !== undefined || !this.isReading()) return;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.owed && !this.holding && this.isReading()) this.fire();
    }, wait);
  }

  /** Drops a mark still waiting (the client closed). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.last = Date.now();
    this.owed = false;
    void this.options.mark().catch(() => {
      // A mark that failed is made by the next one; the reader sees nothing of it.
    });
  }
}
