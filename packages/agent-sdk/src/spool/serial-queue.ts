/** Runs async tasks one at a time, in the order they were queued. */
export interface SerialQueue {
  /**
   * Queues a task behind every task queued before it.
   *
   * @param task - the work; it starts once the previous task has settled.
   * @returns the task's own result or rejection; a failed task does not stop the ones after it.
   */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * Creates a promise queue, so that overlapping spool operations (a flush writing while a resend
 * reads) never interleave their file-system steps.
 *
 * @returns an empty queue.
 * @example
 * ```ts
 * const queue = createSerialQueue();
 * await Promise.all([queue.run(writeOne), queue.run(readAll)]); // readAll sees writeOne's file
 * ```
 * @internal
 */
export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const result = tail.then(task);
      tail = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
  };
}
