/** A bounded map that evicts the least recently used entry (a Map keeps insertion order; a hit re-inserts). */
export interface Lru<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  delete(key: K): boolean
  clear(): void
  readonly size: number
}

/** Creates an LRU of at most `max` entries. */
export function createLru<K, V>(max: number): Lru<K, V> {
  const map = new Map<K, V>()
  return {
    get(key) {
      const v = map.get(key)
      if (v !== undefined) {
        map.delete(key)
        map.set(key, v)
      }
      return v
    },
    set(key, value) {
      map.delete(key)
      map.set(key, value)
      if (map.size > max) map.delete(map.keys().next().value as K)
    },
    delete: (key) => map.delete(key),
    clear: () => map.clear(),
    get size() {
      return map.size
    },
  }
}
