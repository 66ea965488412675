// `wgp2p server [options]`: configure, start, and on SIGTERM/SIGINT stop the signal server.
import { parseArgs, resolveConfig, usage, type ServerConfig } from '../signal-server/config.js';
import { startSignalServer, type SignalServerHandle } from '../signal-server/server.js';
import { CONFIG_ENV, readConfigFile } from '../shared/config/options.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';

/** Exit codes: 0 after a clean shutdown, 1 when the server fails, 2 for bad usage or config. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | 'help' {
  const args = parseArgs(argv);
  if (args.help) return 'help';
  return resolveConfig(args, env, readConfigFile(args.configFile ?? env[CONFIG_ENV]));
}

/**
 * Runs `wgp2p server` with the arguments that follow "server". Resolves with the exit code once
 * the server has stopped (after SIGTERM or SIGINT), or at once on a usage or startup error.
 * A second signal during shutdown exits the process immediately with 1.
 */
export async function runServerCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: ServerConfig;
  try {
    const loaded = loadConfig(argv, env);
    if (loaded === 'help') {
      process.stdout.write(usage());
      return EXIT_OK;
    }
    config = loaded;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`wgp2p server: ${err.message}\n(see wgp2p server --help)\n`);
    return EXIT_USAGE;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  if (argv.some((a) => a === '--token' || a.startsWith('--token='))) {
    // Any local user can read another's command line (/proc/PID/cmdline, ps).
    log.warn('--token on the command line is visible to every local user; prefer WGP2P_TOKEN or the config file', {});
  }
  let handle: SignalServerHandle;
  try {
    handle = await startSignalServer({ ...config, logger: log });
  } catch (err) {
    log.error('signal server failed to start', { error: err instanceof Error ? err.message : String(err) });
    return EXIT_FAILURE;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = (code: number) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // The operator insists: do not wait for slow clients.
        log.warn('second signal during shutdown; exiting at once', { signal });
        process.exit(EXIT_FAILURE);
      }
      stopping = true;
      log.info('shutting down', { signal });
      handle.close().then(
        () => finish(EXIT_OK),
        (err: unknown) => {
          log.error('shutdown failed', { error: String(err) });
          finish(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
