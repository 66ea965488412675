// STUN wire constants (RFC 5389 / RFC 8489, RFC 5780 for behaviour discovery).

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
export const TRANSACTION_ID_LENGTH = 12;
/** XORed into the CRC32 of a FINGERPRINT attribute ("STUN" in ASCII). */
export const FINGERPRINT_XOR = 0x5354554e;
export const MESSAGE_INTEGRITY_LENGTH = 20;

/** Message methods. Binding is the only one this project speaks. */
export const METHOD_BINDING = 0x001;

/** Message classes as the two class bits, before interleaving into the type field. */
export const CLASS_REQUEST = 0b00;
export const CLASS_INDICATION = 0b01;
export const CLASS_SUCCESS = 0b10;
export const CLASS_ERROR = 0b11;

export const BINDING_REQUEST = 0x0001;
export const BINDING_INDICATION = 0x0011;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

/** Attribute types. Below 0x8000 a receiver must understand them; above, it may ignore them. */
export const ATTR_MAPPED_ADDRESS = 0x0001;
export const ATTR_CHANGE_REQUEST = 0x0003;
export const ATTR_USERNAME = 0x0006;
export const ATTR_MESSAGE_INTEGRITY = 0x0008;
export const ATTR_ERROR_CODE = 0x0009;
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
export const ATTR_REALM = 0x0014;
export const ATTR_NONCE = 0x0015;
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const ATTR_PADDING = 0x0026;
export const ATTR_RESPONSE_PORT = 0x0027;
export const ATTR_SOFTWARE = 0x8022;
export const ATTR_FINGERPRINT = 0x8028;
export const ATTR_RESPONSE_ORIGIN = 0x802b;
export const ATTR_OTHER_ADDRESS = 0x802c;

/** CHANGE-REQUEST flag bits (RFC 5780 section 7.2). */
export const CHANGE_IP_FLAG = 0x04;
export const CHANGE_PORT_FLAG = 0x02;

export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}
