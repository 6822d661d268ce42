/**
 * One load per key at a time: callers asking for a key whose load is running share its promise. `forget` detaches a
 * running load (the next caller starts a fresh one, e.g. after an invalidation); a detached load finishing later never
 * removes the fresh one.
 */
export interface SingleFlight<K, V> {
  run(key: K): Promise<V>
  forget(key: K): void
  clear(): void
}

/** Creates a single-flight wrapper around `load`. */
export function createSingleFlight<K, V>(load: (key: K) => Promise<V>): SingleFlight<K, V> {
  const running = new Map<K, Promise<V>>()
  return {
    run(key) {
      let p = running.get(key)
      if (!p) {
        const started: Promise<V> = load(key).finally(() => {
          if (running.get(key) === started) running.delete(key)
        })
        running.set(key, (p = started))
      }
      return p
    },
    forget: (key) => void running.delete(key),
    clear: () => running.clear(),
  }
}
