/**
 * Core errors name options by core's keys; the CLI phrases them as the flags of the command that
 * ran (or of the command that has them), so the same error reads right in the CLI and can read
 * right in VS Code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError } from '../../../src/cli/hints';
import { COMMANDS } from '../../../src/cli/commands';
import { FailureError, OptionError, QualityGateError, UsageError } from '../../../src/core/errors';
import { resolveSettings } from '../../../src/core/pipeline/options';
import { checkEvalContext } from '../../../src/core/quality/evaluate';
import { qualityGateError } from '../../../src/core/quality/gate';

const command = (name: string) => COMMANDS.find((c) => c.name === name)!;
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  return assert.fail('expected an error');
};

test('an OptionError carries the option, the value and what it takes; its own message names no flag', () => {
  const e = thrown(() => checkEvalContext(3));
  assert.ok(e instanceof OptionError && e instanceof UsageError);
  assert.deepEqual(e.data, { option: 'contextSize', value: 3, expected: 'an integer of at least 16' });
  assert.equal(e.message, 'the context size must be an integer of at least 16, got 3');
});

test("the CLI names the running command's flag for the option", () => {
  const e = thrown(() => resolveSettings({ model: 'm', targets: ['Q4_K_M', 'Q9_K' as never] }, 'm')) as OptionError;
  assert.deepEqual(describeError(e, command('quantize'), COMMANDS), [
    '--targets must be one or more of Q4_K_M, Q5_K_M, Q6_K, Q8_0, MXFP4_MOE, got Q9_K',
  ]);
  const ctx = thrown(() => checkEvalContext(3)) as OptionError;
  assert.deepEqual(describeError(ctx, command('eval'), COMMANDS), ['--ctx must be an integer of at least 16, got 3']);
  // A command without a flag for the option keeps core's own wording.
  assert.deepEqual(describeError(ctx, command('detect'), COMMANDS), ['the context size must be an integer of at least 16, got 3']);
});

test('remedies become flags of this command, of another command, or commands; options the CLI lacks are left out', () => {
  const gate = qualityGateError([{ id: 'a', ppl: 11, pplRatio: 1.1, gate: { thresholdPct: 5, passed: false } }], 5);
  assert.ok(gate instanceof QualityGateError);
  const [, quantizeHint] = describeError(gate, command('quantize'), COMMANDS);
  assert.equal(quantizeHint, 'hint: --targets Q5_K_M | --imatrix auto | --gate-threshold <pct> | --no-gate');
  // pajamas eval has no --targets or --imatrix: those are phrased for the command that has them.
  const [, evalHint] = describeError(gate, command('eval'), COMMANDS);
  assert.equal(
    evalHint,
    'hint: pajamas quantize ... --targets Q5_K_M | pajamas quantize ... --imatrix auto | --gate-threshold <P> | --no-gate',
  );
  // The same option has different flags in different commands: --text in eval, --eval-text in quantize.
  const text = new UsageError('the evaluation text is too short', { remedies: [{ option: 'evalText' }] });
  assert.equal(describeError(text, command('eval'), COMMANDS)[1], 'hint: --text <file>');
  assert.equal(describeError(text, command('quantize'), COMMANDS)[1], 'hint: --eval-text <file>');
  const tools = new FailureError('the llama.cpp tools are not built; build them first', {
    remedies: [{ action: 'buildLlamaTools' }, { option: 'keepIntermediate', value: true }, { option: 'nonsense' }],
  });
  assert.deepEqual(describeError(tools, command('eval'), COMMANDS), [
    'the llama.cpp tools are not built; build them first',
    'hint: pajamas tools --build | pajamas quantize ... --keep-intermediate',
  ]);
  assert.deepEqual(describeError(new FailureError('plain'), command('eval'), COMMANDS), ['plain']);
});
