/**
 * `strangler demo` (npm start) runs this sample: the legacy orders service on embedded
 * PGlite, the sidecar in front of it with ./strangler.yaml, and the traffic of ./traffic.ts.
 */
import path from 'node:path';
import type { DemoSample } from 'strangler-sidecar';
import { migrate } from './migrate.ts';
import { startLegacyOrders } from './server.ts';
import { startTraffic } from './traffic.ts';

export const ordersDemo: DemoSample = {
  what: 'a legacy orders service',
  spec: path.join(import.meta.dirname, 'strangler.yaml'),
  async startLegacy(db, port) {
    await migrate(db);
    return startLegacyOrders({ db, port });
  },
  tryIt: (publicUrl) => [
    'Try a command; the sidecar forwards it and records an OrderCreated event:',
    `  curl -s -X POST ${publicUrl}/orders -H 'content-type: application/json' \\`,
    `       -d '{"customerId":"cust-9","items":[{"sku":"SKU-1","quantity":2,"price":"9.99"}]}'`,
  ],
  projection: 'orders',
  reads: 'orders',
  startTraffic: (baseUrl) => startTraffic({ baseUrl }),
};
