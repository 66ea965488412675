// Binding transactions from the client's side, with no socket: build a request, read a response.
// The agent sends these from its WireGuard socket so the mapping it learns is the tunnel's.
import { randomBytes } from 'node:crypto';
import {
  ATTR_CHANGE_REQUEST,
  ATTR_ERROR_CODE,
  ATTR_MAPPED_ADDRESS,
  ATTR_OTHER_ADDRESS,
  ATTR_PADDING,
  ATTR_RESPONSE_ORIGIN,
  ATTR_SOFTWARE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_XOR_MAPPED_ADDRESS,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  TRANSACTION_ID_LENGTH,
} from './constants.js';
import {
  decodeAddress,
  decodeErrorCode,
  decodeText,
  decodeUnknownAttributes,
  decodeXorAddress,
  encodeChangeRequest,
  encodeText,
  type StunAddress,
} from './attributes.js';
import {
  decodeStunMessage,
  encodeStunMessage,
  getAttribute,
  type StunAttribute,
  type StunMessage,
} from './message.js';

export interface BindingRequestOptions {
  transactionId?: Uint8Array;
  /** RFC 5780: ask the server to answer from its alternate address and/or port. */
  changeIp?: boolean;
  changePort?: boolean;
  /**
   * RFC 5780 behaviour discovery: carries CHANGE-REQUEST (flags clear unless asked) and PADDING,
   * so the server may answer with OTHER-ADDRESS and RESPONSE-ORIGIN without the answer growing
   * larger than the request (servers keep answers to unauthenticated requests that small).
   */
  discovery?: boolean;
  software?: string;
  /** Defaults to true: lets the server tell our request from other traffic cheaply. */
  fingerprint?: boolean;
}

export interface BindingRequest {
  transactionId: Uint8Array;
  packet: Buffer;
}

export type BindingResponse =
  | {
      kind: 'success';
      transactionId: Uint8Array;
      /** XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from servers too old to send the former. */
      mapped: StunAddress;
      otherAddress?: StunAddress;
      responseOrigin?: StunAddress;
      software?: string;
    }
  | {
      kind: 'error';
      transactionId: Uint8Array;
      code: number;
      reason: string;
      unknownAttributes?: number[];
    };

/** Size of a discovery request: room for the whole answer, IPv6 addresses included. */
export const DISCOVERY_REQUEST_BYTES = 136;
const HEADER_AND_FINGERPRINT_BYTES = 20 + 8;

export function newTransactionId(): Uint8Array {
  return randomBytes(TRANSACTION_ID_LENGTH);
}

export function stunBindingRequest(options: BindingRequestOptions = {}): BindingRequest {
  const transactionId = options.transactionId ?? newTransactionId();
  const attributes: StunAttribute[] = [];
  if (options.software) attributes.push({ type: ATTR_SOFTWARE, value: encodeText(options.software) });
  if (options.changeIp || options.changePort || options.discovery) {
    attributes.push({
      type: ATTR_CHANGE_REQUEST,
      value: encodeChangeRequest({ changeIp: !!options.changeIp, changePort: !!options.changePort }),
    });
  }
  if (options.discovery) {
    const used = HEADER_AND_FINGERPRINT_BYTES + attributes.reduce((n, a) => n + 4 + Math.ceil(a.value.length / 4) * 4, 0);
    attributes.push({ type: ATTR_PADDING, value: new Uint8Array(Math.max(0, DISCOVERY_REQUEST_BYTES - used - 4)) });
  }
  const packet = encodeStunMessage(
    { type: BINDING_REQUEST, transactionId, attributes },
    { fingerprint: options.fingerprint ?? true },
  );
  return { transactionId, packet };
}

function optionalAddress(msg: StunMessage, type: number): StunAddress | undefined {
  const value = getAttribute(msg, type);
  return value ? decodeAddress(value) : undefined;
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Reads a Binding success or error response. Undefined for anything else: not STUN, another
 * transaction, a broken FINGERPRINT, or a success without a usable mapped address.
 */
export function parseBindingResponse(
  buf: Uint8Array,
  expectedTransactionId?: Uint8Array,
): BindingResponse | undefined {
  const msg = decodeStunMessage(buf);
  if (!msg || msg.fingerprint === 'invalid') return undefined;
  if (expectedTransactionId && !sameId(msg.transactionId, expectedTransactionId)) return undefined;
  const transactionId = Uint8Array.from(msg.transactionId);
  if (msg.type === BINDING_SUCCESS) {
    const xor = getAttribute(msg, ATTR_XOR_MAPPED_ADDRESS);
    const plain = getAttribute(msg, ATTR_MAPPED_ADDRESS);
    const mapped = xor ? decodeXorAddress(xor, transactionId) : plain ? decodeAddress(plain) : undefined;
    if (!mapped) return undefined;
    const result: BindingResponse = { kind: 'success', transactionId, mapped };
    const otherAddress = optionalAddress(msg, ATTR_OTHER_ADDRESS);
    const responseOrigin = optionalAddress(msg, ATTR_RESPONSE_ORIGIN);
    const software = getAttribute(msg, ATTR_SOFTWARE);
    if (otherAddress) result.otherAddress = otherAddress;
    if (responseOrigin) result.responseOrigin = responseOrigin;
    if (software) result.software = decodeText(software);
    return result;
  }
  if (msg.type === BINDING_ERROR) {
    const raw = getAttribute(msg, ATTR_ERROR_CODE);
    const err = raw ? decodeErrorCode(raw) : undefined;
    if (!err) return undefined;
    const unknown = getAttribute(msg, ATTR_UNKNOWN_ATTRIBUTES);
    const unknownAttributes = unknown ? decodeUnknownAttributes(unknown) : undefined;
    return { kind: 'error', transactionId, ...err, ...(unknownAttributes ? { unknownAttributes } : {}) };
  }
  return undefined;
}
