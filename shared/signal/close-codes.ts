// WebSocket close codes (RFC 6455 §7.4.1) the server closes with and the agent reads.
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
/** Never sent: a connection that dropped without a close frame reports it. */
export const CLOSE_ABNORMAL = 1006;
/** Before the greeting: a missing or wrong token; after it: misbehaving frames. */
export const CLOSE_POLICY = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;
