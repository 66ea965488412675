// A private unix stream socket for a daemon's control channel: refuses to steal a live one,
// replaces a stale one, is 0600, and notices when its file was deleted or replaced (the
// conventional "remove the socket to stop the daemon" signal of wireguard-go).
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Without inotify (fs.watch failing), ownership is checked this often instead. */
const OWNERSHIP_POLL_MS = 1_000;

export class UnixListener {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly inode: number,
  ) {}

  static async listen(path: string, onConnection: (sock: Socket) => void): Promise<UnixListener> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (existsSync(path)) {
      if (await isLive(path)) throw new Error(`${path} is in use by another running process`);
      unlinkSync(path);
    }
    const server = createServer(onConnection);
    const oldMask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    return new UnixListener(server, path, statSync(path).ino);
  }

  /** False once the socket file was deleted or replaced. */
  stillOwned(): boolean {
    try {
      return statSync(this.path).ino === this.inode;
    } catch {
      return false;
    }
  }

  /**
   * Calls `lost` once the socket file is deleted or replaced: the directory is watched (inotify),
   * so nothing wakes the daemon while the file stays; where watching fails, it is polled.
   */
  onLost(lost: () => void): void {
    let done = false;
    const check = () => {
      if (done || this.stillOwned()) return;
      done = true;
      this.stopWatching();
      lost();
    };
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) check();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
        this.pollOwnership(check);
      });
    } catch {
      this.pollOwnership(check);
    }
  }

  private pollOwnership(check: () => void): void {
    this.poll = setInterval(check, OWNERSHIP_POLL_MS);
    this.poll.unref();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  close(): void {
    this.stopWatching();
    this.server.close();
    if (!this.stillOwned()) return;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

/** True when something accepts connections on the unix socket at `path`. */
export function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
