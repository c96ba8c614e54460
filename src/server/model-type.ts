/** config.json's model_type for the Pajamas view's listings (workspace models, the Hugging Face cache). */
import { readFile, stat } from 'node:fs/promises';

/** A config.json larger than this is not read for its model_type. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The model_type (a multimodal config's text model's), or null when absent or unreadable. */
export async function readModelType(configPath: string): Promise<string | null> {
  try {
    if ((await stat(configPath)).size > MAX_CONFIG_BYTES) return null;
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { model_type?: unknown; text_config?: { model_type?: unknown } };
    const type = config.text_config?.model_type ?? config.model_type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}
