// Protocol constants of WireGuard (whitepaper §6 and the reference implementations).
// Times are in milliseconds because the engine's clock is a millisecond clock.

export const REKEY_AFTER_MESSAGES = 2 ** 60;
// 2^64 - 2^13 - 1 is beyond a double's exact range; a Number counter never gets near it in
// practice (2^53 packets is centuries at line rate), so the bigint form is only used for checks.
export const REJECT_AFTER_MESSAGES = 2n ** 64n - 2n ** 13n - 1n;
export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
export const REKEY_TIMEOUT_JITTER_MAX = 334; // exclusive upper bound of the 0–333 ms jitter
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_REFRESH_TIME = 120_000;
export const HANDSHAKE_INITIATION_RATE = 20; // ms: initiations from one peer closer than this are dropped
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT; // 18
export const MAX_STAGED_PACKETS = 128;

// Under-load detection: how many handshake messages in one window make the device "busy",
// and how long it stays busy afterwards (wireguard-go: 1/8 of a 1024 queue, sticky for 1 s).
export const UNDER_LOAD_HANDSHAKES = 128;
export const UNDER_LOAD_WINDOW = 1_000;
export const UNDER_LOAD_AFTER = 1_000;
// Per-source-IP token bucket applied to handshakes with a valid mac2 while under load.
export const HANDSHAKES_PER_SECOND = 20;
export const HANDSHAKE_BURST = 5;

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const KEY_LEN = 32;
export const TAG_LEN = 16;
export const MAC_LEN = 16;
export const TIMESTAMP_LEN = 12;

export const DEFAULT_MTU = 1420;
