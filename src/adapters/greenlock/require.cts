/**
 * CommonJS entry of `miab-dns01/greenlock`: Greenlock and ACME.js load plugins with
 * `require(name).create(options)`. `create` must answer synchronously, but the plugin is an ES
 * module, which `require()` can load only on Node 20.19+ / 22.12+; so the methods load it with
 * `import()` on first use, and the same file works on every Node version the package supports.
 */
import type { GreenlockDns01Plugin, GreenlockRequest, GreenlockZonesRequest } from './index.js';
import { propagationDelayOf, type GreenlockPluginOptions } from './options.cjs';

export type { GreenlockDns01Plugin, GreenlockPluginOptions, GreenlockRequest, GreenlockZonesRequest };

export function create(options: GreenlockPluginOptions = {}): GreenlockDns01Plugin {
  let loaded: Promise<GreenlockDns01Plugin> | undefined;
  const plugin = (): Promise<GreenlockDns01Plugin> => (loaded ??= import('./index.js').then((module) => module.create(options)));
  return {
    init: async (request: unknown) => (await plugin()).init(request),
    zones: async (request: GreenlockZonesRequest) => (await plugin()).zones(request),
    set: async (request: GreenlockRequest) => (await plugin()).set(request),
    get: async (request: GreenlockRequest) => (await plugin()).get(request),
    remove: async (request: GreenlockRequest) => (await plugin()).remove(request),
    propagationDelay: propagationDelayOf(options),
  };
}
