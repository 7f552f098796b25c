// The VS Code side: commands, the status bar, the build log, problems and the token, over one
// server (ServerManager) spoken to through SandboxClient.
import * as vscode from 'vscode';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { ClientOptions } from './client';
import {
  ErrorCodes,
  HubParams,
  LspDiagnostic,
  PublishDiagnosticsParams,
  PublishFailureData,
  PublishParams,
  Target,
} from './protocol';
import { ServerManager } from './serverManager';
import { resolveServerPath } from './serverPath';
import { PublishStatusBar, STATUS_CLICK_COMMAND } from './statusBar';
import { nextState, render } from './statusView';

// Tokens live in VS Code's SecretStorage, never in settings; each is passed to the server per request.
const TOKEN_KEYS = { dockerRun: 'studyhubSandbox.dockerRun.token', hub: 'studyhubSandbox.hub.token' } as const;
type TokenKind = keyof typeof TOKEN_KEYS;
const TOKEN_TITLES: Record<TokenKind, string> = { dockerRun: 'docker-run access token', hub: 'hub access token' };

export function activate(context: vscode.ExtensionContext): void {
  const serverLog = vscode.window.createOutputChannel('Studyhub Sandbox');
  const buildLog = vscode.window.createOutputChannel('Studyhub Sandbox Build Log');
  const problems = vscode.languages.createDiagnosticCollection('studyhub-sandbox');
  const status = new PublishStatusBar();
  const running = new Map<string, CancellationTokenSource>(); // folder → its publish
  context.subscriptions.push(serverLog, buildLog, problems, status);

  const config = () => vscode.workspace.getConfiguration('studyhubSandbox');
  const manager = new ServerManager(
    (): ClientOptions => {
      const choice = resolveServerPath(config().get<string>('serverPath', ''), context.extensionPath);
      if (choice instanceof Error) throw choice;
      serverLog.appendLine(`starting ${choice.path} serve (${choice.source})`);
      return {
        serverPath: choice.path,
        onStderr: (text) => serverLog.append(text),
        // Build output arrives as typed log events of the publish (below); window/logMessage's log
        // level repeats it as text for generic LSP clients, so only the other levels are shown here.
        onLogMessage: (p) => (p.type === 4 ? undefined : serverLog.appendLine(p.message)),
        onDiagnostics: (p) => showProblems(problems, p),
      };
    },
    (line) => serverLog.appendLine(line),
  );
  context.subscriptions.push({ dispose: () => void manager.dispose() });

  // A missing or broken binary is an error with a way to fix it.
  const client = async () => {
    try {
      return await manager.client();
    } catch (e) {
      const message = (e as Error).message;
      void vscode.window.showErrorMessage(`Studyhub Sandbox: ${message}`, 'Open Setting').then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', 'studyhubSandbox.serverPath');
      });
      return undefined;
    }
  };

  // Changing where the server comes from restarts it; every other setting is read per publish.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('studyhubSandbox.serverPath')) void manager.restart();
    }),
  );

  const publish = async (resource?: vscode.Uri) => {
    const folder = resource ?? (await pickFolder());
    if (!folder) return;
    const target = await targetParams(config(), context.secrets);
    if (target instanceof Error) {
      const hub = config().get<Target>('target', 'local') === 'hub';
      const action = target.message.includes('token') ? 'Set Token' : 'Open Settings';
      const pick = await vscode.window.showErrorMessage(`Studyhub Sandbox: ${target.message}`, action);
      if (pick === 'Set Token') void vscode.commands.executeCommand(hub ? 'studyhubSandbox.setHubToken' : 'studyhubSandbox.setToken');
      else if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', hub ? 'studyhubSandbox.hub' : 'studyhubSandbox.dockerRun');
      return;
    }
    const server = await client();
    if (!server) return;
    const settings = config();
    const name = settings.get<string>('name', '').trim();
    const params: Omit<PublishParams, 'workDoneToken'> = {
      folder: folder.fsPath,
      buildTimeoutSeconds: settings.get<number>('buildTimeoutSeconds', 600),
      ...(name ? { name } : {}),
      ...target,
    };
    const label = folder.path.split('/').pop() ?? folder.fsPath;
    running.get(folder.fsPath)?.cancel(); // a second publish of one folder supersedes the first
    const cancel = new CancellationTokenSource();
    running.set(folder.fsPath, cancel);
    buildLog.appendLine(`── publish ${folder.fsPath} at ${new Date().toLocaleTimeString()} ──`);
    status.update({ kind: 'publishing', folder: label, stage: 'starting', message: 'starting', percent: 0 });
    try {
      const result = await server.publish(
        params,
        () => undefined, // $/progress is for generic LSP clients; the status bar reads the typed events
        cancel.token,
        (event) => {
          if (event.event === 'log') buildLog.appendLine(event.message ?? '');
          status.update(nextState(label, event, status.state));
        },
      );
      status.update({ kind: 'published', name: result.name, url: result.url });
      const uploaded =
        result.target === 'hub' ? `, ${result.uploadedFiles ?? 0} files (${result.uploadedBytes ?? 0} bytes) uploaded` : '';
      buildLog.appendLine(`published ${result.url}${result.cached ? ' (already built)' : ''} in ${result.durationMs} ms${uploaded}`);
      const pick = await vscode.window.showInformationMessage(`Published ${result.name}: ${result.url}`, 'Open', 'Copy URL');
      if (pick) await openOrCopy(pick, result.url);
    } catch (e) {
      if (e instanceof ResponseError && e.code === ErrorCodes.requestCancelled) {
        status.update({ kind: 'cancelled' });
        buildLog.appendLine('publish cancelled');
        return;
      }
      const message = (e as Error).message;
      const data = e instanceof ResponseError ? (e.data as PublishFailureData | undefined) : undefined;
      if (data?.logTail && !data.diagnostics?.length) buildLog.append(data.logTail);
      buildLog.appendLine(`publish failed: ${message}`);
      status.update({ kind: 'failed', message });
      const pick = await vscode.window.showErrorMessage(`Publish failed: ${message}`, 'Show Build Log');
      if (pick) buildLog.show(true);
    } finally {
      if (running.get(folder.fsPath) === cancel) running.delete(folder.fsPath);
    }
  };

  const cancelAll = () => {
    if (running.size === 0) void vscode.window.showInformationMessage('No publish is running.');
    for (const source of running.values()) source.cancel();
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('studyhubSandbox.publish', (uri?: vscode.Uri) => publish(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('studyhubSandbox.cancel', cancelAll),
    vscode.commands.registerCommand('studyhubSandbox.showLog', () => buildLog.show(true)),
    vscode.commands.registerCommand('studyhubSandbox.showPublished', async () => {
      const site = await pickSite('Published sandboxes');
      if (!site) return;
      const action = await vscode.window.showQuickPick(['Open', 'Copy URL'], { placeHolder: site.url });
      if (action) await openOrCopy(action, site.url);
    }),
    vscode.commands.registerCommand('studyhubSandbox.rollback', async () => {
      const site = await pickSite('Which sandbox to roll back?');
      if (!site) return;
      const current = site.snapshotId;
      const version = await vscode.window.showQuickPick(
        site.history.map((id, i) => ({
          label: id.slice(0, 12),
          description: id === current ? 'current' : i === 0 ? 'newest' : '',
          detail: id,
          id,
        })),
        { placeHolder: `Roll ${site.name} back to which version? (no rebuild)` },
      );
      if (!version || version.id === current) return;
      const server = await client();
      if (!server) return;
      try {
        const done = await server.rollback({ name: site.name, snapshotId: version.id, ...site.where });
        buildLog.appendLine(`rolled ${done.name} back to ${done.snapshotId} (${done.target})`);
        const pick = await vscode.window.showInformationMessage(`Rolled ${done.name} back to ${done.snapshotId.slice(0, 12)}: ${done.url}`, 'Open', 'Copy URL');
        if (pick) await openOrCopy(pick, done.url);
      } catch (e) {
        void vscode.window.showErrorMessage(`Roll back failed: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('studyhubSandbox.unpublish', async () => {
      const site = await pickSite('Which sandbox to unpublish?');
      if (!site) return;
      const sure = await vscode.window.showWarningMessage(
        `Unpublish ${site.name}? ${site.url} stops working at once.`,
        { modal: true },
        'Unpublish',
      );
      if (sure !== 'Unpublish') return;
      const server = await client();
      if (!server) return;
      try {
        await server.unpublish({ name: site.name, ...site.where });
        buildLog.appendLine(`unpublished ${site.name} (${site.where.target})`);
        void vscode.window.showInformationMessage(`Unpublished ${site.name}.`);
      } catch (e) {
        void vscode.window.showErrorMessage(`Unpublish failed: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('studyhubSandbox.setToken', () => setToken('dockerRun')),
    vscode.commands.registerCommand('studyhubSandbox.setHubToken', () => setToken('hub')),
    vscode.commands.registerCommand(STATUS_CLICK_COMMAND, async () => {
      const view = render(status.state);
      if (view.command === 'publish') return vscode.commands.executeCommand('studyhubSandbox.publish');
      if (view.command === 'showLog') return buildLog.show(true);
      if (view.command === 'openUrl' && status.state.kind === 'published') return openOrCopy('Open', status.state.url);
      const pick = await vscode.window.showQuickPick(['Show Build Log', 'Cancel Publish']);
      if (pick === 'Show Build Log') buildLog.show(true);
      if (pick === 'Cancel Publish') cancelAll();
    }),
  );

  // Every published site, here and on the hub, with where it lives.
  interface SiteChoice {
    name: string;
    url: string;
    snapshotId: string;
    history: string[];
    where: { target: 'local' | 'hub'; hub?: HubParams };
  }
  async function pickSite(placeHolder: string): Promise<SiteChoice | undefined> {
    const server = await client();
    if (!server) return undefined;
    const hub = await hubParams(config(), context.secrets);
    const list = await server.list(hub);
    const choices: Array<vscode.QuickPickItem & { site: SiteChoice }> = [
      ...list.sites.map((s) => ({
        label: s.name,
        description: s.url,
        detail: `this machine · ${s.folder} · ${new Date(s.publishedAt).toLocaleString()}`,
        site: { name: s.name, url: s.url, snapshotId: s.snapshotId, history: s.history, where: { target: 'local' as const } },
      })),
      ...(list.hub?.sites ?? []).map((s) => ({
        label: s.name,
        description: s.url,
        detail: `hub ${list.hub!.url} · ${new Date(s.publishedAt).toLocaleString()}`,
        site: { name: s.name, url: s.url, snapshotId: s.snapshotId, history: s.history, where: { target: 'hub' as const, hub } },
      })),
    ];
    if (list.hub?.error) buildLog.appendLine(`the hub's sites could not be listed: ${list.hub.error}`);
    if (choices.length === 0) {
      void vscode.window.showInformationMessage(list.hub?.error ? `Nothing published here; ${list.hub.error}` : 'Nothing published yet.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(choices, { placeHolder, matchOnDescription: true }))?.site;
  }

  // Open and Copy URL go through asExternalUri: in a remote window (Remote-SSH, Codespaces,
  // code-server) a 127.0.0.1 URL means the remote machine, and VS Code forwards it to one the
  // user's browser can reach. Public URLs (the hub's) come back unchanged.
  async function openOrCopy(action: string, url: string): Promise<void> {
    const original = vscode.Uri.parse(url);
    let external = await vscode.env.asExternalUri(original);
    // A forwarding of the port may come back as its root (code-server's /proxy/<port>/): keep the path.
    if (original.path !== '/' && !external.path.endsWith(original.path))
      external = external.with({ path: external.path.replace(/\/+$/, '') + original.path, query: original.query });
    if (action === 'Open') await vscode.env.openExternal(external);
    if (action === 'Copy URL') {
      await vscode.env.clipboard.writeText(external.toString(true));
      buildLog.appendLine(`copied ${external.toString(true)}`);
    }
  }

  async function setToken(kind: TokenKind): Promise<void> {
    const title = TOKEN_TITLES[kind];
    const token = await vscode.window.showInputBox({
      title,
      prompt: `Kept in VS Code's secret storage and sent only to the ${kind === 'hub' ? 'hub' : 'docker-run'} URL. Leave empty to remove it.`,
      password: true,
      ignoreFocusOut: true,
    });
    if (token === undefined) return;
    if (token.trim()) await context.secrets.store(TOKEN_KEYS[kind], token.trim());
    else await context.secrets.delete(TOKEN_KEYS[kind]);
    const saved = title.charAt(0).toUpperCase() + title.slice(1);
    void vscode.window.showInformationMessage(token.trim() ? `${saved} saved.` : `${saved} removed.`);
  }
}

export function deactivate(): void {
  // the subscriptions stop the server
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showErrorMessage('Studyhub Sandbox: open a sandbox folder first.');
    return undefined;
  }
  if (folders.length === 1) return folders[0].uri;
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which sandbox to publish?' }))?.uri;
}

async function targetParams(
  settings: vscode.WorkspaceConfiguration,
  secrets: vscode.SecretStorage,
): Promise<Pick<PublishParams, 'target' | 'dockerRun' | 'hub'> | Error> {
  const target = settings.get<Target>('target', 'local');
  if (target === 'hub') {
    const url = settings.get<string>('hub.url', '').trim();
    if (!url) return new Error('the hub target needs studyhubSandbox.hub.url');
    const token = await secrets.get(TOKEN_KEYS.hub);
    if (!token) return new Error('the hub target needs your access token: run "Studyhub: Set Hub Access Token"');
    return { target, hub: { url, token } };
  }
  if (target !== 'docker-run') return { target: 'local' };
  const url = settings.get<string>('dockerRun.url', '').trim();
  if (!url) return new Error('the docker-run target needs studyhubSandbox.dockerRun.url');
  const token = await secrets.get(TOKEN_KEYS.dockerRun);
  if (!token) return new Error('the docker-run target needs an access token: run "Studyhub: Set docker-run Access Token"');
  return { target, dockerRun: { url, token, image: settings.get<string>('dockerRun.image', 'vermusl/create-react-app') } };
}

// The hub to list, roll back or unpublish on, when one is set up (its URL and a token).
async function hubParams(settings: vscode.WorkspaceConfiguration, secrets: vscode.SecretStorage): Promise<HubParams | undefined> {
  const url = settings.get<string>('hub.url', '').trim();
  const token = await secrets.get(TOKEN_KEYS.hub);
  return url && token ? { url, token } : undefined;
}

function showProblems(collection: vscode.DiagnosticCollection, params: PublishDiagnosticsParams): void {
  const uri = vscode.Uri.parse(params.uri);
  collection.set(uri, params.diagnostics.map(toVscode));
}

function toVscode(d: LspDiagnostic): vscode.Diagnostic {
  const range = new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character);
  const severity = d.severity === 2 ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error;
  const diagnostic = new vscode.Diagnostic(range, d.message, severity);
  diagnostic.source = d.source ?? 'studyhub-sandbox';
  return diagnostic;
}
