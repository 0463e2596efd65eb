export { createLegacyOrdersApp, ATTACHMENT_LIMIT_BYTES, type LegacyOrdersOptions } from './app.ts';
export { startLegacyOrders, type StartLegacyOrdersOptions, type RunningLegacyOrders } from './server.ts';
export { migrate } from './migrate.ts';
export type { OrderJson, OrderItemJson, OrderSummaryJson } from './repository.ts';
export type { OrderStatus } from './validation.ts';
export { systemClock, type Clock } from './time.ts';
