/**
 * Serialises work per key (a stream id): commands on the same order run one after another
 * from forwarding to append, so events land in the order legacy applied the commands.
 * Different keys never wait on each other. Memory is bounded by the keys in flight.
 */
export function createKeyLock() {
  const tails = new Map<string, Promise<void>>();
  return {
    async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = previous.then(() => mine);
      tails.set(key, tail);
      await previous;
      try {
        return await fn();
      } finally {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    get size() {
      return tails.size;
    },
  };
}

export type KeyLock = ReturnType<typeof createKeyLock>;
