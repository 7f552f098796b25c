// The VS Code side: commands, the status bar, the build log, problems and the token, over one
// server (ServerManager) spoken to through SandboxClient.
import * as vscode from 'vscode';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { ClientOptions } from './client';
import { ErrorCodes, LspDiagnostic, PublishDiagnosticsParams, PublishFailureData, PublishParams, Target } from './protocol';
import { ServerManager } from './serverManager';
import { resolveServerPath } from './serverPath';
import { PublishStatusBar, STATUS_CLICK_COMMAND } from './statusBar';
import { nextState, render } from './statusView';

const TOKEN_KEY = 'studyhubSandbox.dockerRun.token';

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
        onLogMessage: (p) => (p.type === 4 ? buildLog.appendLine(p.message.replace(/^\[build\] /, '')) : serverLog.appendLine(p.message)),
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
      const action = target.message.includes('token') ? 'Set Token' : 'Open Settings';
      const pick = await vscode.window.showErrorMessage(`Studyhub Sandbox: ${target.message}`, action);
      if (pick === 'Set Token') void vscode.commands.executeCommand('studyhubSandbox.setToken');
      else if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', 'studyhubSandbox.dockerRun');
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
      const result = await server.publish(params, (p) => status.update(nextState(label, p, status.state)), cancel.token);
      status.update({ kind: 'published', name: result.name, url: result.url });
      buildLog.appendLine(`published ${result.url}${result.cached ? ' (already built)' : ''} in ${result.durationMs} ms`);
      const pick = await vscode.window.showInformationMessage(`Published ${result.name}: ${result.url}`, 'Open', 'Copy URL');
      if (pick === 'Open') void vscode.env.openExternal(vscode.Uri.parse(result.url));
      if (pick === 'Copy URL') void vscode.env.clipboard.writeText(result.url);
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
      const server = await client();
      if (!server) return;
      const { sites } = await server.list();
      if (sites.length === 0) return void vscode.window.showInformationMessage('Nothing published yet.');
      const site = await vscode.window.showQuickPick(
        sites.map((s) => ({ label: s.name, description: s.url, detail: `${s.folder} · ${new Date(s.publishedAt).toLocaleString()}`, site: s })),
        { placeHolder: 'Published sandboxes' },
      );
      if (!site) return;
      const action = await vscode.window.showQuickPick(['Open', 'Copy URL'], { placeHolder: site.site.url });
      if (action === 'Open') void vscode.env.openExternal(vscode.Uri.parse(site.site.url));
      if (action === 'Copy URL') void vscode.env.clipboard.writeText(site.site.url);
    }),
    vscode.commands.registerCommand('studyhubSandbox.setToken', async () => {
      const token = await vscode.window.showInputBox({
        title: 'docker-run access token',
        prompt: 'Kept in VS Code\'s secret storage and sent only to the docker-run URL. Leave empty to remove it.',
        password: true,
        ignoreFocusOut: true,
      });
      if (token === undefined) return;
      if (token.trim()) await context.secrets.store(TOKEN_KEY, token.trim());
      else await context.secrets.delete(TOKEN_KEY);
      void vscode.window.showInformationMessage(token.trim() ? 'docker-run access token saved.' : 'docker-run access token removed.');
    }),
    vscode.commands.registerCommand(STATUS_CLICK_COMMAND, async () => {
      const view = render(status.state);
      if (view.command === 'publish') return vscode.commands.executeCommand('studyhubSandbox.publish');
      if (view.command === 'showLog') return buildLog.show(true);
      if (view.command === 'openUrl' && status.state.kind === 'published')
        return vscode.env.openExternal(vscode.Uri.parse(status.state.url));
      const pick = await vscode.window.showQuickPick(['Show Build Log', 'Cancel Publish']);
      if (pick === 'Show Build Log') buildLog.show(true);
      if (pick === 'Cancel Publish') cancelAll();
    }),
  );
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
): Promise<Pick<PublishParams, 'target' | 'dockerRun'> | Error> {
  const target = settings.get<Target>('target', 'local');
  if (target !== 'docker-run') return { target: 'local' };
  const url = settings.get<string>('dockerRun.url', '').trim();
  if (!url) return new Error('the docker-run target needs studyhubSandbox.dockerRun.url');
  const token = await secrets.get(TOKEN_KEY);
  if (!token) return new Error('the docker-run target needs an access token: run "Studyhub: Set docker-run Access Token"');
  return { target, dockerRun: { url, token, image: settings.get<string>('dockerRun.image', 'vermusl/create-react-app') } };
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
