// Keeps one server running for the window: started on first use, restarted with backoff when it
// dies (0.5 s, 1 s, 2 s … up to 30 s), and left stopped after 5 crashes within 3 minutes, until
// the next command asks for it. Free of the vscode module.
import { ClientOptions, SandboxClient } from './client';

const CRASH_WINDOW_MS = 3 * 60_000;
const MAX_CRASHES = 5;

export class ServerManager {
  private current?: Promise<SandboxClient>;
  private crashes: number[] = [];
  private restartTimer?: NodeJS.Timeout;
  private disposed = false;
  private readonly stopping = new Set<SandboxClient>();

  // `options` is read at every start, so a changed setting takes effect on the next start.
  constructor(
    private readonly options: () => ClientOptions,
    private readonly log: (line: string) => void,
  ) {}

  client(): Promise<SandboxClient> {
    if (this.disposed) return Promise.reject(new Error('the extension is shutting down'));
    if (!this.current) {
      clearTimeout(this.restartTimer);
      const starting = this.launch();
      this.current = starting;
      starting.catch(() => {
        if (this.current === starting) this.current = undefined; // the next command tries again
      });
    }
    return this.current;
  }

  // Stops the running server (if any); the next client() starts a fresh one.
  async restart(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    this.crashes = [];
    if (!running) return;
    const client = await running.catch(() => undefined);
    if (!client) return;
    this.stopping.add(client);
    await client.stop();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    await this.restart();
  }

  private async launch(): Promise<SandboxClient> {
    const client = await SandboxClient.start(this.options());
    this.log(`server started (pid ${client.pid})`);
    client.onExitOnce((error) => this.onExit(client, error));
    return client;
  }

  private onExit(client: SandboxClient, error: Error): void {
    if (this.stopping.delete(client) || this.disposed) return;
    this.current = undefined;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.crashes.push(now);
    if (this.crashes.length >= MAX_CRASHES) {
      this.log(`${error.message}; it crashed ${this.crashes.length} times in 3 minutes, so it is restarted only when a command needs it`);
      return;
    }
    const wait = Math.min(30_000, 500 * 2 ** (this.crashes.length - 1));
    this.log(`${error.message}; restarting in ${wait / 1000} s`);
    this.restartTimer = setTimeout(() => {
      this.client().catch((e: Error) => this.log(`restart failed: ${e.message}`));
    }, wait);
  }
}
