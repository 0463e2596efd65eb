// prom-client's default metric modules (lib/metrics/*.js) ship without type declarations:
// each is `(registry, config) => void` and registers its metrics on the registry.
declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client';
  const register: (registry: Registry, config: { prefix?: string; eventLoopMonitoringPrecision?: number }) => void;
  export default register;
}
