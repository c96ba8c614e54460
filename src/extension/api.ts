/**
 * What `activate()` returns (`vscode.extensions.getExtension(...).exports`). Kept small: other
 * extensions get nothing yet; tests get read access to the output channel, outside production.
 */
export interface PajamasApi {
  readonly apiVersion: 1;
  /** Present when the extension runs in development or test mode, never in production. */
  readonly testing?: {
    /** The text written to the "Llama-Pajamas" output channel so far. */
    outputText(): string;
  };
}
