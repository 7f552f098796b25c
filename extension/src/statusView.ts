// What the one status-bar item shows, as a pure function of the publish state (fed by the
// server's typed events, sandbox/event), so it is tested without VS Code. Modelled on vscode-clangd's
// file-status item: one state, one renderer.
import { PublishEvent } from './generated/event';

type QueueKind = NonNullable<PublishEvent['queue']>;

export type PublishState =
  | { kind: 'idle' }
  | { kind: 'publishing'; folder: string; stage: string; message: string; percent: number }
  | { kind: 'queued'; folder: string; message: string; percent: number; queue: QueueKind; ahead?: number }
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
        text: `$(watch) ${queuedLabel(state)}`,
        tooltip: `${state.folder}: ${state.message}\nClick to show the build log or cancel.`,
        command: 'publishingActions',
      };
    case 'published':
      return { text: '$(globe) Published', tooltip: `${state.name}: ${state.url}\nClick to open.`, command: 'openUrl' };
    case 'failed':
      return { text: '$(error) Publish failed', tooltip: `${state.message}\nClick to show the build log.`, command: 'showLog' };
  }
}

function queuedLabel(state: { queue: QueueKind; ahead?: number }): string {
  if (state.queue === 'machine') return 'Waiting for another publish';
  if (state.ahead !== undefined) return `Queued (${state.ahead} ahead)`;
  return state.queue === 'hub' ? 'Queued on the hub' : 'Queued';
}

// The next state for one typed event of a publish (sandbox/event): fields only, never the
// message, which is for people and may be reworded.
export function nextState(folder: string, event: PublishEvent, previous: PublishState): PublishState {
  const percent = event.percent ?? ('percent' in previous ? previous.percent : 0);
  const message = event.message ?? '';
  switch (event.event) {
    case 'queued':
      return { kind: 'queued', folder, message, percent, queue: event.queue ?? 'local', ahead: event.ahead };
    case 'stage':
    case 'progress':
      return { kind: 'publishing', folder, stage: event.stage ?? 'build', message, percent };
    case 'log':
    case 'diagnostics':
      return previous; // the build log and the Problems panel show these
  }
}
