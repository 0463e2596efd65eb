-- legacy-orders schema for PostgreSQL (and PGlite). Idempotent: safe to run at every start.
--
-- Identifiers use the "C" collation so that ordering and equality are byte-wise, the same
-- as the ascii_bin / utf8mb4_bin columns of the MariaDB schema: keyset pagination and
-- `ORDER BY sku` give the same rows in the same order on both databases.
-- Timestamps are UTC wall-clock values without a time zone, microsecond precision.

CREATE TABLE IF NOT EXISTS orders (
  id           VARCHAR(32)    COLLATE "C" NOT NULL,   -- 'ord_' + 16 lowercase hex chars, made by the service
  customer_id  VARCHAR(64)    COLLATE "C" NOT NULL,
  status       VARCHAR(16)    COLLATE "C" NOT NULL,
  total_amount NUMERIC(12,2)  NOT NULL DEFAULT 0,
  created_at   TIMESTAMP(6) WITHOUT TIME ZONE NOT NULL,
  updated_at   TIMESTAMP(6) WITHOUT TIME ZONE NOT NULL,
  CONSTRAINT orders_pkey PRIMARY KEY (id),
  CONSTRAINT orders_status_check CHECK (status IN ('CREATED', 'PAID', 'CANCELLED')),
  CONSTRAINT orders_total_check CHECK (total_amount >= 0)
);

CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id, created_at);

CREATE TABLE IF NOT EXISTS order_items (
  order_id VARCHAR(32)   COLLATE "C" NOT NULL,
  sku      VARCHAR(64)   COLLATE "C" NOT NULL,
  quantity INTEGER       NOT NULL,
  price    NUMERIC(12,2) NOT NULL,
  CONSTRAINT order_items_pkey PRIMARY KEY (order_id, sku),
  CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT order_items_quantity_check CHECK (quantity > 0),
  CONSTRAINT order_items_price_check CHECK (price >= 0)
);
