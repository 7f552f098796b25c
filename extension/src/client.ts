// One studyhub-sandbox server as a child process, spoken to with vscode-jsonrpc over stdio (LSP
// framing). Free of the vscode module, so the tests drive it against the real binary in plain
// Node. vscode-jsonrpc rather than vscode-languageclient: the server is not a language server for
// documents, its methods are our own, and the status bar needs the raw progress stream.
import { ChildProcess, spawn } from 'node:child_process';
import * as rpc from 'vscode-jsonrpc/node';
import {
  HubParams,
  ListResult,
  LogMessageParams,
  PublishDiagnosticsParams,
  PublishParams,
  PublishResult,
  RollbackParams,
  RollbackResult,
  SiteParams,
  TargetOptions,
  UnpublishResult,
  WorkDoneProgress,
} from './protocol';
import { PublishEvent, SandboxEventParams } from './generated/event';

export interface ClientOptions {
  serverPath: string;
  env?: NodeJS.ProcessEnv;
  initializationOptions?: TargetOptions;
  onStderr?: (text: string) => void;
  onLogMessage?: (params: LogMessageParams) => void;
  onDiagnostics?: (params: PublishDiagnosticsParams) => void;
  onSend?: (method: string, params: unknown) => void; // what goes out, for tests and tracing
}

export class ServerExitedError extends Error {}

let nextProgressToken = 1;

export class SandboxClient {
  private exited = false;
  private readonly exitWaiters: Array<(error: Error) => void> = [];
  exitDescription = '';

  private constructor(
    readonly process: ChildProcess,
    private readonly connection: rpc.MessageConnection,
    private readonly options: ClientOptions,
  ) {}

  // Spawns `serverPath serve`, then initialize / initialized.
  static async start(options: ClientOptions): Promise<SandboxClient> {
    const child = spawn(options.serverPath, ['serve'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    await spawned;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => options.onStderr?.(text));
    const connection = rpc.createMessageConnection(
      new rpc.StreamMessageReader(child.stdout!),
      new rpc.StreamMessageWriter(child.stdin!),
    );
    const client = new SandboxClient(child, connection, options);
    child.once('exit', (code, signal) => client.onExit(code, signal));
    child.stdin!.on('error', () => undefined); // a dead server: the exit handler reports it
    connection.onNotification('window/logMessage', (p: LogMessageParams) => options.onLogMessage?.(p));
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => options.onDiagnostics?.(p));
    connection.onError(() => undefined);
    connection.listen();
    await client.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'studyhub-sandbox-vscode', version: '0.1.0' },
      rootUri: null,
      capabilities: { window: { workDoneProgress: true } },
      initializationOptions: options.initializationOptions ?? {},
    });
    client.notify('initialized', {});
    return client;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }
  get running(): boolean {
    return !this.exited;
  }

  // Resolves when the server has gone (any reason).
  // Returns a function that removes the listener again.
  onExitOnce(listener: (error: Error) => void): () => void {
    if (this.exited) {
      listener(new ServerExitedError(this.exitDescription));
      return () => undefined;
    }
    this.exitWaiters.push(listener);
    return () => {
      const i = this.exitWaiters.indexOf(listener);
      if (i >= 0) this.exitWaiters.splice(i, 1);
    };
  }

  // onProgress gets $/progress (text for people); onEvent the same publish's typed events
  // (sandbox/event, protocol/schemas/event.json), which is what a status display should read.
  async publish(
    params: Omit<PublishParams, 'workDoneToken'>,
    onProgress: (progress: WorkDoneProgress) => void,
    token?: rpc.CancellationToken,
    onEvent?: (event: PublishEvent) => void,
  ): Promise<PublishResult> {
    const workDoneToken = `publish-${process.pid}-${nextProgressToken++}`;
    const listener = this.connection.onProgress(new rpc.ProgressType<WorkDoneProgress>(), workDoneToken, onProgress);
    const events = this.connection.onNotification('sandbox/event', (p: SandboxEventParams) => {
      if (p.workDoneToken === workDoneToken) onEvent?.(p.event);
    });
    try {
      return await this.request<PublishResult>('sandbox/publish', { ...params, workDoneToken }, token);
    } finally {
      listener.dispose();
      events.dispose();
    }
  }

  // The hub's sites are listed too when `hub` is given (or set in the session's options).
  list(hub?: HubParams): Promise<ListResult> {
    return this.request<ListResult>('sandbox/list', hub ? { hub } : {});
  }

  rollback(params: RollbackParams): Promise<RollbackResult> {
    return this.request<RollbackResult>('sandbox/rollback', params);
  }

  unpublish(params: SiteParams): Promise<UnpublishResult> {
    return this.request<UnpublishResult>('sandbox/unpublish', params);
  }

  status(): Promise<unknown> {
    return this.request('sandbox/status', {});
  }

  // shutdown + exit; kills the server if it does not leave within the grace period.
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.onExitOnce(() => resolve()));
    try {
      await Promise.race([this.request('shutdown', null), delay(graceMs)]);
      this.notify('exit', null);
    } catch {
      // already gone or refusing: the kill below settles it
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    this.connection.dispose();
  }

  private request<R>(method: string, params: unknown, token?: rpc.CancellationToken): Promise<R> {
    if (this.exited) return Promise.reject(new ServerExitedError(this.exitDescription));
    this.options.onSend?.(method, params);
    const answer = token
      ? this.connection.sendRequest<R>(method, params, token)
      : this.connection.sendRequest<R>(method, params);
    // A server that dies never answers: the request fails with why instead of hanging. The exit
    // listener goes once the answer is in, so a long session does not collect one per request.
    let forget = () => undefined as void;
    const died = new Promise<never>((_, reject) => (forget = this.onExitOnce(reject)));
    return Promise.race([answer, died]).finally(() => forget());
  }

  private notify(method: string, params: unknown): void {
    if (this.exited) return;
    this.options.onSend?.(method, params);
    void this.connection.sendNotification(method, params).catch(() => undefined);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitDescription =
      `the studyhub-sandbox server exited` + (signal ? ` (killed by ${signal})` : ` with status ${code ?? 'unknown'}`);
    for (const waiter of this.exitWaiters.splice(0)) waiter(new ServerExitedError(this.exitDescription));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
