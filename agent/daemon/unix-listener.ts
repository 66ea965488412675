// A private unix stream socket for a daemon's control channel: refuses to steal a live one,
// replaces a stale one, is 0600, and notices when its file was deleted or replaced (the
// conventional "remove the socket to stop the daemon" signal of wireguard-go).
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';

export class UnixListener {
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

  close(): void {
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
