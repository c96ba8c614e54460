/**
 * The test Hub the real-VS-Code tests download from (test/vscode/run.mjs bundles this file and sets
 * HF_ENDPOINT to it before code-server starts): the shared stories260K model as a public repo, and a
 * private repo that answers 401 unless the request carries TEST_HUB_TOKEN.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoFromFolder, syntheticRepo } from '../../fixtures/hub-repo';
import { startHubServer, type HubServer } from '../../helpers/hub-server';

export const PUBLIC_REPO = 'pajamas-test/stories260K';
export const PRIVATE_REPO = 'pajamas-test/private-llama';
/** Not a real token: the test Hub's only valid one. */
export const TEST_HUB_TOKEN = 'hf_PajamasVscodeTestToken42';

/** Null without ../shared (the model the public repo serves). */
export async function startTestHub(shared: string): Promise<HubServer | null> {
  const model = path.join(shared, 'models', 'stories260K-hf');
  if (!existsSync(model)) return null;
  return startHubServer({
    repos: [repoFromFolder(PUBLIC_REPO, model), syntheticRepo(PRIVATE_REPO)],
    private: [PRIVATE_REPO],
    token: undefined,
    privateToken: TEST_HUB_TOKEN,
  });
}
