/** The sample `strangler demo` runs (see examples/legacy-orders/demo.ts). */
export { ordersDemo as demoSample } from './legacy-orders/demo.ts';
