/**
 * Insertion-ordered collections that forget their oldest entries past a cap, so a long session
 * (typing every 2 s for days) keeps memory flat.
 */

/** A set of at most `cap` values; adding one more forgets the oldest. */
export class BoundedSet<T> {
  private readonly values = new Set<T>();

  constructor(private readonly cap: number) {}

  get size(): number {
    return this.values.size;
  }

  add(value: T): void {
    this.values.delete(value);
    this.values.add(value);
    if (this.values.size > this.cap) {
      const oldest = this.values.values().next();
      if (!oldest.done) this.values.delete(oldest.value);
    }
  }

  has(value: T): boolean {
    return this.values.has(value);
  }

  delete(value: T): void {
    this.values.delete(value);
  }

  clear(): void {
    this.values.clear();
  }
}

/** A map of at most `cap` entries; setting one more forgets the oldest. */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly cap: number) {}

  get size(): number {
    return this.entries.size;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.cap) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
