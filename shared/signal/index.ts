// Public surface of the signalling protocol shared by the agent and the server.
export * from './protocol.js';
export { parseClientMessage } from './parse-client.js';
export { parseServerMessage } from './parse-server.js';
export { base64DecodedLength, checkBlob, isBlob, isMemberId, isRoomId } from './fields.js';
