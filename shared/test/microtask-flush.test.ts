// The scheduled flush behind BatchUdpSocket.enqueue and TunOffload.queue.
import t from 'tap';
import { MicrotaskFlush } from '../microtask-flush.js';

function counter(): { runs: number; pending: MicrotaskFlush } {
  const c = { runs: 0, pending: undefined as unknown as MicrotaskFlush };
  c.pending = new MicrotaskFlush(() => {
    c.pending.flushing();
    c.runs++;
  });
  return c;
}

t.test('a burst of requests in one callback runs the flush once, after the callback', async (t) => {
  const c = counter();
  for (let i = 0; i < 100; i++) c.pending.request();
  t.equal(c.runs, 0, 'nothing runs synchronously');
  await Promise.resolve();
  t.equal(c.runs, 1);
  await Promise.resolve();
  t.equal(c.runs, 1, 'no second microtask');
});

t.test('a request after a flush schedules a new one', async (t) => {
  const c = counter();
  c.pending.request();
  await Promise.resolve();
  c.pending.request();
  await Promise.resolve();
  t.equal(c.runs, 2);
});

t.test('an explicit flush re-arms the scheduling at once', async (t) => {
  const c = counter();
  c.pending.request();
  c.pending.flushing(); // what an explicit flush() does first
  c.pending.request(); // schedules again: the first microtask may find an empty queue
  await Promise.resolve();
  t.equal(c.runs, 2, 'both pending microtasks ran');
});
