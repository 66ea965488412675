// Linux network interface names, checked before they reach the kernel so a
// typo gets a clear message instead of a bare EINVAL.

/** IFNAMSIZ (16) minus the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;

/** Throws unless `name` is a name the kernel accepts for a new interface. */
export function checkIfName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`interface name must be a string, got ${typeof name}`);
  // Length in bytes: the kernel limit is on the encoded name.
  if (name.length === 0 || Buffer.byteLength(name) > MAX_IFNAME_LENGTH) {
    throw new Error(`invalid interface name "${name}": it must be 1 to ${MAX_IFNAME_LENGTH} bytes long`);
  }
  // Same rules as the kernel's dev_valid_name().
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new Error(`invalid interface name "${name}": it must not be "." or ".." or contain "/", ":", NUL or whitespace`);
  }
  return name;
}
