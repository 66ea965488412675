// The one error for bad input from a user: flags, environment variables, config files, wg-quick
// files, command usage. `code` is stable for programs and tests; the message is for people.

export type ConfigErrorCode =
  /** A flag no option has, or a stray argument. */
  | 'unknown_option'
  /** A flag that takes a value came last. */
  | 'missing_value'
  /** A value where none is allowed (`--no-relay=1`). */
  | 'unexpected_value'
  /** A value its option does not accept. */
  | 'bad_value'
  /** A config-file key no option has. */
  | 'unknown_key'
  /** A config file that cannot be read, is not JSON, or not a JSON object. */
  | 'bad_file'
  /** Values that are fine alone but not together. */
  | 'conflict'
  /** A line of a wg-quick file. */
  | 'bad_line'
  /** The command was called the wrong way (missing or extra arguments). */
  | 'usage';

export class ConfigError extends Error {
  override name = 'ConfigError';
  /**
   * @param where what the bad input was: a flag (`--listen`), a variable (`WGP2P_LISTEN`), a
   *   config-file key (`config file listen`) or a file line (`line 3`), when there is one.
   */
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly where?: string,
  ) {
    super(message);
  }
}
