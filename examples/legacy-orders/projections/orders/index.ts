export { createOrdersProjection, ordersProjection, ORDERS_TABLES, type OrdersProjectionOptions } from './ordersProjection.ts';
export { orderItemAddedV1toV2, orderUpcasters } from './upcasters.ts';
export { ORDER_EVENT_TYPES, type OrderEventType } from './events.ts';
export { orderAggregate, orderFold, orderRows, type OrderRows, type OrderState } from './aggregate.ts';
export { formatCents, parseCents } from './cents.ts';
