/** A small stand-in for the `vscode` module (unit tests only; esbuild aliases `vscode` to this file).
 * Tests drive it through `mock`: answers for pickers and input boxes, recorded commands and messages. */
/* eslint-disable @typescript-eslint/no-explicit-any */

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners: Array<(e: T) => void> = [];
  readonly event = (listener: (e: T) => void): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== listener)));
  };
  fire(e: T): void {
    [...this.listeners].forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}
  static from(c: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(c.scheme, c.authority ?? "", c.path ?? "", c.query ?? "", c.fragment ?? "");
  }
  static file(p: string): Uri {
    return new Uri("file", "", p, "", "");
  }
  static parse(value: string): Uri {
    const m = /^([a-z][\w+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/i.exec(value);
    if (!m) {
      throw new Error(`bad uri ${value}`);
    }
    const d = (s: string | undefined) => decodeURIComponent(s ?? "");
    return new Uri(m[1], d(m[2]), d(m[3]), d(m[4]), d(m[5]));
  }
  get fsPath(): string {
    return this.path;
  }
  with(change: { path?: string; query?: string }): Uri {
    return new Uri(this.scheme, this.authority, change.path ?? this.path, change.query ?? this.query, this.fragment);
  }
  toString(): string {
    const e = (s: string) => encodeURIComponent(s).replace(/%2F/g, "/");
    return `${this.scheme}:${this.authority ? `//${this.authority}` : ""}${e(this.path)}${this.query ? `?${encodeURIComponent(this.query)}` : ""}${this.fragment ? `#${e(this.fragment)}` : ""}`;
  }
}

export class FileSystemError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
  static FileNotFound(m?: unknown): FileSystemError {
    return new FileSystemError(String(m), "FileNotFound");
  }
  static NoPermissions(m?: unknown): FileSystemError {
    return new FileSystemError(String(m), "NoPermissions");
  }
  static Unavailable(m?: unknown): FileSystemError {
    return new FileSystemError(String(m), "Unavailable");
  }
}

export enum FileType {
  Unknown = 0,
  File = 1,
  Directory = 2,
}
export enum FilePermission {
  Readonly = 1,
}
export enum FileChangeType {
  Changed = 1,
  Created = 2,
  Deleted = 3,
}
export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}
export enum OverviewRulerLane {
  Left = 1,
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum LogLevel {
  Off = 0,
  Trace = 1,
  Debug = 2,
  Info = 3,
  Warning = 4,
  Error = 5,
}
export enum ViewColumn {
  Beside = -2,
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: number | Position, b: number | Position, c?: number, d?: number) {
    this.start = typeof a === "number" ? new Position(a, b as number) : a;
    this.end = typeof a === "number" ? new Position(c as number, d as number) : (b as Position);
  }
}

export class CodeLens {
  constructor(
    readonly range: Range,
    readonly command?: { title: string; command: string; arguments?: unknown[] },
  ) {}
}

export class TabInputText {
  constructor(readonly uri: Uri) {}
}
export class TabInputTextDiff {
  constructor(
    readonly original: Uri,
    readonly modified: Uri,
  ) {}
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class MarkdownString {
  constructor(readonly value: string) {}
}

export class TreeItem {
  label?: string;
  resourceUri?: Uri;
  id?: string;
  description?: string;
  tooltip?: string;
  iconPath?: ThemeIcon;
  contextValue?: string;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(
    labelOrUri: string | Uri,
    readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {
    if (typeof labelOrUri === "string") {
      this.label = labelOrUri;
    } else {
      this.resourceUri = labelOrUri;
    }
  }
}

/** A webview panel: its html, the messages posted to it, and a way to hide and show it. */
export class MockPanel {
  readonly posted: unknown[] = [];
  visible = true;
  disposed = false;
  private readonly viewState = new EventEmitter<{ webviewPanel: MockPanel }>();
  private readonly disposeEmitter = new EventEmitter<void>();
  readonly onDidChangeViewState = this.viewState.event;
  readonly onDidDispose = this.disposeEmitter.event;
  readonly webview = {
    html: "",
    options: {} as unknown,
    cspSource: "vscode-webview:",
    postMessage: async (m: unknown) => {
      this.posted.push(m);
      return true;
    },
  };
  constructor(
    readonly viewType: string,
    public title: string,
  ) {}
  reveal(): void {
    this.setVisible(true);
  }
  /** Hide or show the panel (as switching editor tabs does). */
  setVisible(visible: boolean): void {
    if (this.visible !== visible) {
      this.visible = visible;
      this.viewState.fire({ webviewPanel: this });
    }
  }
  dispose(): void {
    this.disposed = true;
    this.disposeEmitter.fire();
  }
}

/** What the tests see and steer. */
export const mock = {
  config: {} as Record<string, unknown>,
  quickPicks: [] as Array<(items: any[]) => any>,
  inputs: [] as Array<string | undefined>,
  messages: [] as Array<{ level: string; text: string; modal?: boolean; detail?: string; items?: string[] }>,
  /** Buttons to press on messages that offer some, in order (none left: the message is dismissed). */
  answers: [] as Array<string | undefined>,
  executed: [] as Array<{ command: string; args: unknown[] }>,
  progress: [] as Array<{ message?: string; increment?: number }>,
  progressOptions: [] as Array<{ title?: string; cancellable?: boolean }>,
  extensions: {} as Record<string, any>,
  workspaceFolders: undefined as Array<{ uri: Uri }> | undefined,
  files: [] as Uri[],
  cancelProgress: false,
  reset(): void {
    this.config = {};
    this.quickPicks = [];
    this.inputs = [];
    this.messages = [];
    this.answers = [];
    this.executed = [];
    this.progress = [];
    this.progressOptions = [];
    this.extensions = {};
    this.workspaceFolders = undefined;
    this.files = [];
    this.cancelProgress = false;
    this.contexts = {};
    this.panels = [];
    window.tabGroups.all = [];
    window.visibleTextEditors = [];
  },
  panels: [] as MockPanel[],
  /** Context keys set with `setContext`. */
  contexts: {} as Record<string, unknown>,
};

const message =
  (level: string) =>
  async (text: string, ...rest: unknown[]): Promise<string | undefined> => {
    const options = typeof rest[0] === "object" && rest[0] !== null ? (rest.shift() as { modal?: boolean; detail?: string }) : {};
    const items = rest.filter((r): r is string => typeof r === "string");
    mock.messages.push({
      level,
      text,
      ...(options.modal ? { modal: true } : {}),
      ...(options.detail ? { detail: options.detail } : {}),
      ...(items.length ? { items } : {}),
    });
    return items.length ? mock.answers.shift() : undefined;
  };

const onNothing = () => new Disposable();

export const window = {
  showInformationMessage: message("info"),
  showWarningMessage: message("warning"),
  showErrorMessage: message("error"),
  setStatusBarMessage: (text: string) => {
    mock.messages.push({ level: "status", text });
    return new Disposable();
  },
  async showQuickPick(items: any[]) {
    const answer = mock.quickPicks.shift();
    if (!answer) {
      throw new Error(`unexpected quick pick: ${JSON.stringify(items.map((i) => i.label))}`);
    }
    return answer(await items);
  },
  async showInputBox(options: { validateInput?: (v: string) => string | undefined }) {
    if (mock.inputs.length === 0) {
      throw new Error("unexpected input box");
    }
    const value = mock.inputs.shift();
    if (value !== undefined && options.validateInput?.(value)) {
      throw new Error(`input ${value} rejected: ${options.validateInput(value)}`);
    }
    return value;
  },
  async withProgress(options: { title?: string; cancellable?: boolean }, task: (p: any, t: any) => Promise<unknown>) {
    mock.progressOptions.push({ title: options.title, cancellable: options.cancellable });
    const cancel = new EventEmitter<void>();
    if (mock.cancelProgress) {
      setTimeout(() => cancel.fire(), 5);
    }
    return task(
      { report: (v: { message?: string; increment?: number }) => mock.progress.push(v) },
      { onCancellationRequested: cancel.event, isCancellationRequested: false },
    );
  },
  createTextEditorDecorationType: (options: unknown) => ({ options, dispose: () => undefined }),
  tabGroups: {
    all: [] as Array<{ viewColumn: number; activeTab?: { input: unknown } }>,
    onDidChangeTabs: onNothing,
  },
  registerWebviewPanelSerializer: () => new Disposable(),
  createWebviewPanel: (viewType: string, title: string) => {
    const panel = new MockPanel(viewType, title);
    mock.panels.push(panel);
    return panel;
  },
  createStatusBarItem: () => ({ show: () => undefined, dispose: () => undefined, text: "", tooltip: "" }),
  onDidChangeVisibleTextEditors: onNothing,
  onDidChangeActiveTextEditor: onNothing,
  visibleTextEditors: [] as unknown[],
  activeTextEditor: undefined as unknown,
};

export const workspace = {
  getConfiguration: (section?: string) => ({
    get: <T>(key: string, fallback?: T) => (mock.config[section ? `${section}.${key}` : key] as T | undefined) ?? fallback,
  }),
  get workspaceFolders() {
    return mock.workspaceFolders;
  },
  createFileSystemWatcher: () => ({ onDidCreate: onNothing, onDidChange: onNothing, onDidDelete: onNothing, dispose: () => undefined }),
  findFiles: async () => mock.files,
  onDidChangeTextDocument: onNothing,
  onDidChangeConfiguration: onNothing,
};

export const commands = {
  async executeCommand(command: string, ...args: unknown[]) {
    if (command === "setContext") {
      mock.contexts[args[0] as string] = args[1];
      return undefined;
    }
    mock.executed.push({ command, args });
    return undefined;
  },
  registerCommand: () => new Disposable(),
};

export const extensions = {
  getExtension: (id: string) => mock.extensions[id],
};

export const languages = {
  registerCodeLensProvider: () => new Disposable(),
};
