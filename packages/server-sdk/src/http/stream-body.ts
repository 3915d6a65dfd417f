import type { FieldlineStream, FieldlineStreamSink } from './types.js';

/**
 * Narrows a response body to a {@link FieldlineStream}.
 *
 * @param body - a `FieldlineResponse` body.
 * @returns true when the adapter must stream it.
 */
export function isFieldlineStream(body: unknown): body is FieldlineStream {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { kind?: unknown }).kind === 'stream' &&
    typeof (body as { start?: unknown }).start === 'function'
  );
}

/** What an adapter supplies to run a stream: the writing half of its sink. */
interface StreamTarget {
  write(chunk: string): boolean;
  end(): void;
  abort(): void;
  bufferedBytes(): number;
}

/** A running stream, as seen by its adapter. */
interface RunningStream {
  /** Runs the cleanup (once) because the client went away or the connection closed. */
  finish(): void;
}

/**
 * Starts a stream on an adapter's target, guaranteeing the cleanup runs
 * exactly once, whether the route ends the stream (even from inside `start`),
 * or the adapter reports the client gone. When `start` throws, the response
 * is aborted. @internal
 *
 * @param stream - the route's stream.
 * @param target - the adapter's writer.
 * @returns a handle whose `finish` the adapter calls when the client disconnects.
 */
export function runStream(stream: FieldlineStream, target: StreamTarget): RunningStream {
  let finished = false;
  let cleanup: (() => void) | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    const run = cleanup;
    cleanup = undefined;
    run?.();
  };
  const sink: FieldlineStreamSink = {
    write: (chunk) => (finished ? false : target.write(chunk)),
    end: () => {
      if (finished) return;
      finish();
      target.end();
    },
    abort: () => {
      if (finished) return;
      finish();
      target.abort();
    },
    bufferedBytes: () => (finished ? 0 : target.bufferedBytes()),
  };
  try {
    const returned = stream.start(sink);
    if (finished) returned();
    else cleanup = returned;
  } catch {
    // Headers are out already, so a broken stream can only be cut; adapters never throw.
    finished = true;
    target.abort();
  }
  return { finish };
}
