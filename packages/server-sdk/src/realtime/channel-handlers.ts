/** The device a channel message came from. */
export interface ChannelSender {
  readonly deviceId: string;
  readonly tenantId: string;
}

/** One message delivered to a channel handler. */
export interface ChannelMessage {
  /** The sending device. */
  readonly from: ChannelSender;
  /** The message's type within the channel. */
  readonly type: string;
  /** The opened, parsed body (validate it before use: it is device input). */
  readonly body: unknown;
  /** The message id (a reply names it). */
  readonly id: string;
}

/**
 * Handles the messages of one channel. A returned value other than
 * `undefined` is sent back as the reply (type `<type>.result`); throwing a
 * `FieldlineError` answers with an `error` frame carrying its code.
 */
export type ChannelHandler = (message: ChannelMessage) => unknown | Promise<unknown>;

/** Channel names the gateway serves itself; handlers cannot replace them. */
export const RESERVED_CHANNELS: ReadonlySet<string> = new Set(['events']);
