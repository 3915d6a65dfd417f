import type { StreamSetting } from '../stream/open-event-stream.js';

/** What a worker thread is started with (structured-clone safe). @internal */
export interface WorkerThreadData {
  readonly names: readonly string[];
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly stream: StreamSetting;
  readonly webhookKey?: string;
  readonly allowPrivateWebhookUrls?: boolean;
}

/** Messages from a worker thread to the process that started it. @internal */
export type WorkerThreadMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped' }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly fields: object;
      readonly message?: string;
    };
