// What a test peer has received, in order, and promises of the first item matching a
// predicate, whether it already came or is still to come. Not a test file itself.

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
}

export class Inbox<T> {
  /** Everything received so far, in order. */
  readonly items: T[] = [];
  private waiters: Waiter<T>[] = [];

  /** `what` names an item in the timeout error ("a message"). */
  constructor(private readonly what: string) {}

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  /** The first item (already received or future) matching `match`. */
  next(match: (item: T) => boolean, timeoutMs = 5000): Promise<T> {
    const seen = this.items.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${this.what}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      });
    });
  }
}
