/** The webview's handle on VS Code: messages to the host and the state kept while the page is hidden. */

interface VsCodeApi<State> {
  postMessage(message: unknown): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

export interface HostLink<Out, State> {
  post(message: Out): void;
  state(): State | undefined;
  saveState(state: State): void;
}

/** May be called once per page (acquireVsCodeApi throws on a second call). */
export function connectToHost<Out, State>(): HostLink<Out, State> {
  const api = acquireVsCodeApi<State>();
  return {
    post: (m) => api.postMessage(m),
    state: () => api.getState(),
    saveState: (s) => api.setState(s),
  };
}
