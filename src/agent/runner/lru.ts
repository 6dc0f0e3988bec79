/**
 * A Map that keeps its most recently used entries: at most `maxEntries`, and at most `maxWeight`
 * in all by `weigh` (e.g. bytes). The newest entry is always kept, even one heavier than the whole
 * budget: a caller that just stored it is about to use it.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
    private readonly weigh: (value: V) => number = () => 0,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The sum of the entries' weights. */
  get weight(): number {
    return this.totalWeight;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Reads and marks as most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores as most recently used; returns the keys pushed out to stay within the bounds. */
  set(key: K, value: V): K[] {
    this.delete(key);
    const weight = this.weigh(value);
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    const evicted: K[] = [];
    for (const oldest of this.entries.keys()) {
      if (oldest === key || (this.entries.size <= this.maxEntries && this.totalWeight <= this.maxWeight)) break;
      this.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  private delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalWeight -= entry.weight;
  }
}
