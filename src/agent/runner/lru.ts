/** A Map that keeps its `capacity` most recently used entries. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Reads and marks as most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Stores as most recently used; returns the keys pushed out to stay within capacity. */
  set(key: K, value: V): K[] {
    this.entries.delete(key);
    this.entries.set(key, value);
    const evicted: K[] = [];
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }
}
