// The one status-bar item, fed by one stream of publish states (see statusView.ts).
import * as vscode from 'vscode';
import { PublishState, render } from './statusView';

export const STATUS_CLICK_COMMAND = 'studyhubSandbox.statusClick';

export class PublishStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('studyhubSandbox.status', vscode.StatusBarAlignment.Left, 0);
  state: PublishState = { kind: 'idle' };

  constructor() {
    this.item.name = 'Studyhub Sandbox';
    this.item.command = STATUS_CLICK_COMMAND;
    this.update({ kind: 'idle' });
    this.item.show();
  }

  update(state: PublishState): void {
    this.state = state;
    const view = render(state);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      state.kind === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
