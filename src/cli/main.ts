#!/usr/bin/env node
/**
 * The `miab-dns01` executable. certbot's hook calls go to the run agent first (src/agent):
 * that path loads Node's built-ins and a few small modules only. Everything else, and a hook
 * call the agent cannot take, runs here through run.ts.
 */
import { certbotHook } from '../adapters/certbot/policy.js';

const argv = process.argv.slice(2);
const status = certbotHook(argv) !== undefined ? await (await import('../agent/client.js')).callRunAgent(argv, process.env) : undefined;
if (status === undefined) (await import('./run.js')).runProcess(argv);
else process.exitCode = status;
