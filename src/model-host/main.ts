/**
 * Entry point of dist/model-host.js: the child process that owns node-llama-cpp (see
 * src/core/runtime/model-host/). Started by the CLI and the worker, never by hand.
 */
import { runModelHost } from '../core/runtime/model-host/server';

runModelHost();
