-- legacy-orders schema for MariaDB / MySQL (InnoDB). Idempotent: safe to run at every start.
--
-- Identifiers use binary collations so that ordering and equality are byte-wise, the same
-- as the COLLATE "C" columns of the PostgreSQL schema (the default utf8mb4 collation is
-- case-insensitive and would make 'A-1' and 'a-1' the same SKU here but not there).
-- Timestamps are UTC wall-clock values (DATETIME has no time zone), microsecond precision.

CREATE TABLE IF NOT EXISTS orders (
  id           VARCHAR(32) CHARACTER SET ascii   COLLATE ascii_bin   NOT NULL,  -- 'ord_' + 16 lowercase hex chars
  customer_id  VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  status       VARCHAR(16) CHARACTER SET ascii   COLLATE ascii_bin   NOT NULL,
  total_amount DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  created_at   DATETIME(6)   NOT NULL,
  updated_at   DATETIME(6)   NOT NULL,
  PRIMARY KEY (id),
  KEY orders_customer_idx (customer_id, created_at),
  CONSTRAINT orders_status_check CHECK (status IN ('CREATED', 'PAID', 'CANCELLED')),
  CONSTRAINT orders_total_check CHECK (total_amount >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS order_items (
  order_id VARCHAR(32) CHARACTER SET ascii   COLLATE ascii_bin   NOT NULL,
  sku      VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  quantity INT           NOT NULL,
  price    DECIMAL(12,2) NOT NULL,
  PRIMARY KEY (order_id, sku),
  CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT order_items_quantity_check CHECK (quantity > 0),
  CONSTRAINT order_items_price_check CHECK (price >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
