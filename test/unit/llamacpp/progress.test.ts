import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBuildProgress, shortStepDescription } from '../../../src/core/llamacpp/progress';

test('ninja [n/N] lines become steps', () => {
  assert.deepEqual(parseBuildProgress('[12/348] Building CXX object ggml/src/CMakeFiles/ggml-base.dir/gguf.cpp.o'), {
    done: 12,
    total: 348,
    description: 'Building CXX object ggml/src/CMakeFiles/ggml-base.dir/gguf.cpp.o',
  });
  assert.deepEqual(parseBuildProgress('[348/348] Linking CXX executable bin/llama-server\r'), {
    done: 348,
    total: 348,
    description: 'Linking CXX executable bin/llama-server',
  });
});

test('make [ nn%] lines become percentages', () => {
  assert.deepEqual(parseBuildProgress('[  7%] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o'), {
    done: 7,
    total: 100,
    description: 'Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o',
  });
  assert.equal(parseBuildProgress('[100%] Built target llama-quantize')?.done, 100);
});

test('other lines and impossible counts are not progress', () => {
  for (const line of [
    '',
    '-- Configuring done',
    'ggml/src/ggml.c:12:5: warning: unused variable',
    'ninja: build stopped: subcommand failed.',
    '[5/0] nothing',
    '[9/8] more done than total',
    '[250%] bogus',
    ' [1/2] indented',
  ]) {
    assert.equal(parseBuildProgress(line), null, line);
  }
});

test('step descriptions are shortened to the file being compiled or linked', () => {
  assert.equal(
    shortStepDescription('Building CXX object tools/quantize/CMakeFiles/llama-quantize.dir/quantize.cpp.o'),
    'compiling quantize.cpp',
  );
  assert.equal(shortStepDescription('Linking CXX executable bin/llama-server'), 'linking llama-server');
  assert.equal(shortStepDescription('Linking CXX static library src/libllama.a'), 'linking libllama.a');
  assert.equal(shortStepDescription('Generating build details from Git'), 'Generating build details from Git');
});
