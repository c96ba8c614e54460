/**
 * A conversation as the model expects it: node-llama-cpp's chat wrapper for the model (the Jinja
 * template stored in the GGUF, or a built-in format it recognises, or a generic one) renders the
 * messages followed by the start of the assistant's turn, and says what ends the reply. Special
 * tokens that end it are end-of-generation tokens or listed here as tokens; text that ends it
 * (a generic format's "\nUser:") becomes stop strings.
 */
import type { Llama, NodeLlamaCpp } from './node-llama';
import type { ChatMessage } from './types';

type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type ChatWrapper = NonNullable<ReturnType<NodeLlamaCpp['resolveChatWrapper']>>;
type ChatHistoryItem = Parameters<ChatWrapper['generateContextState']>[0]['chatHistory'][number];

export interface ChatPrompt {
  tokens: number[];
  /** Text that ends the reply (not included in it). */
  stopStrings: string[];
  /** Single tokens that end the reply besides the model's end-of-generation tokens. */
  stopTokens: Set<number>;
}

export class ChatPromptRenderer {
  private readonly wrapper: ChatWrapper;

  constructor(
    lib: NodeLlamaCpp,
    private readonly model: LlamaModel,
  ) {
    this.wrapper = lib.resolveChatWrapper(model) as ChatWrapper;
  }

  /** The wrapper's name ("JinjaTemplate", "Llama3_1", "General"...), for the log. */
  get name(): string {
    return this.wrapper.wrapperName;
  }

  render(messages: readonly ChatMessage[]): ChatPrompt {
    const history: ChatHistoryItem[] = [...messages.map(toHistoryItem), { type: 'model', response: [] }];
    const { contextText, stopGenerationTriggers } = this.wrapper.generateContextState({ chatHistory: history });
    const stopStrings: string[] = [];
    const stopTokens = new Set<number>();
    for (const trigger of stopGenerationTriggers) {
      const values = trigger.values.filter((v) => v !== '');
      if (values.every((v) => typeof v === 'string')) {
        stopStrings.push(values.join(''));
        continue;
      }
      const tokens = trigger.tokenize(this.model.tokenizer);
      if (tokens.length === 1) stopTokens.add(tokens[0]!);
    }
    return { tokens: contextText.tokenize(this.model.tokenizer), stopStrings: stopStrings.filter(Boolean), stopTokens };
  }
}

function toHistoryItem(m: ChatMessage): ChatHistoryItem {
  if (m.role === 'system') return { type: 'system', text: m.content };
  if (m.role === 'user') return { type: 'user', text: m.content };
  return { type: 'model', response: [m.content] };
}
