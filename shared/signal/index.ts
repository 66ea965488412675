// Public surface of the signalling protocol shared by the agent and the server. The agents'
// room crypto lives in room-key.ts, imported directly: the server has no use for it.
export * from './protocol.js';
export { parseClientMessage } from './parse-client.js';
export { parseServerMessage } from './parse-server.js';
export { base64DecodedLength, checkBlob, isBlob, isMemberId, isRoomId } from './fields.js';
