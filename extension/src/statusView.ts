// What the one status-bar item shows, as a pure function of the publish state (fed by the
// server's progress stream), so it is tested without VS Code. Modelled on vscode-clangd's
// file-status item: one state, one renderer.
import { WorkDoneProgress } from './protocol';

export type PublishState =
  | { kind: 'idle' }
  | { kind: 'publishing'; folder: string; stage: string; message: string; percent: number }
  | { kind: 'queued'; folder: string; message: string; percent: number }
  | { kind: 'published'; name: string; url: string }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

export interface StatusView {
  text: string;
  tooltip: string;
  command: 'publish' | 'publishingActions' | 'openUrl' | 'showLog';
}

export function render(state: PublishState): StatusView {
  switch (state.kind) {
    case 'idle':
      return { text: '$(cloud-upload) Publish', tooltip: 'Studyhub: Publish Sandbox', command: 'publish' };
    case 'cancelled':
      return { text: '$(cloud-upload) Publish', tooltip: 'The last publish was cancelled. Click to publish.', command: 'publish' };
    case 'publishing':
      return {
        text: `$(sync~spin) Publishing: ${state.stage} ${state.percent}%`,
        tooltip: `${state.folder}: ${state.message}\nClick to show the build log or cancel.`,
        command: 'publishingActions',
      };
    case 'queued':
      return {
        text: `$(watch) ${queuedLabel(state.message)}`,
        tooltip: `${state.folder}: ${state.message}\nClick to show the build log or cancel.`,
        command: 'publishingActions',
      };
    case 'published':
      return { text: '$(globe) Published', tooltip: `${state.name}: ${state.url}\nClick to open.`, command: 'openUrl' };
    case 'failed':
      return { text: '$(error) Publish failed', tooltip: `${state.message}\nClick to show the build log.`, command: 'showLog' };
  }
}

function queuedLabel(message: string): string {
  const ahead = /queued: (\d+) publish/.exec(message);
  if (ahead) return `Queued (${ahead[1]} ahead)`;
  if (message.startsWith('queued on ')) return 'Queued on the hub';
  return 'Waiting for another publish';
}

// The next state for a $/progress notification of a publish. The server reports
// "<stage>: <message>" with a percentage, or a queue message.
export function nextState(folder: string, progress: WorkDoneProgress, previous: PublishState): PublishState {
  const percent = progress.percentage ?? ('percent' in previous ? previous.percent : 0);
  const message = progress.message ?? '';
  if (progress.kind === 'end') return previous;
  if (/^(queued:|queued on |waiting for another publish)/.test(message)) return { kind: 'queued', folder, message, percent };
  const stage = /^(snapshot|build|upload|download|extract|publish): /.exec(message);
  if (stage) return { kind: 'publishing', folder, stage: stage[1], message: message.slice(stage[0].length), percent };
  return { kind: 'publishing', folder, stage: previous.kind === 'publishing' ? previous.stage : 'starting', message, percent };
}
