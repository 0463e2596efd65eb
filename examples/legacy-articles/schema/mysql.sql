-- legacy-articles schema for MariaDB / MySQL (InnoDB). Idempotent: safe to run at every start.
--
-- Written the way a typical third-party service's migrations leave it: CHAR(36) UUID primary
-- keys in the server's DEFAULT collation (utf8mb4_general_ci, case-insensitive, PAD SPACE),
-- foreign keys on those key columns, natural keys (username, email, slug) as unique columns,
-- and soft deletes in a record_status column. Times are UTC, millisecond precision.

CREATE TABLE IF NOT EXISTS users (
  id            CHAR(36)     NOT NULL,
  username      VARCHAR(64)  NOT NULL,
  email         VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  bio           TEXT         NULL,
  image         VARCHAR(500) NULL,
  record_status VARCHAR(16)  NOT NULL DEFAULT 'active',
  created_at    DATETIME(3)  NOT NULL,
  updated_at    DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY users_username_uq (username),
  UNIQUE KEY users_email_uq (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS articles (
  id              CHAR(36)     NOT NULL,
  slug            VARCHAR(255) NOT NULL,
  title           VARCHAR(255) NOT NULL,
  description     VARCHAR(500) NOT NULL DEFAULT '',
  body            TEXT         NOT NULL,
  author_id       CHAR(36)     NOT NULL,
  favorites_count INT          NOT NULL DEFAULT 0,
  record_status   VARCHAR(16)  NOT NULL DEFAULT 'active',
  created_at      DATETIME(3)  NOT NULL,
  updated_at      DATETIME(3)  NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY articles_slug_uq (slug),
  KEY articles_created_idx (created_at),
  CONSTRAINT articles_author_fk FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS favorites (
  id            CHAR(36)    NOT NULL,
  user_id       CHAR(36)    NOT NULL,
  article_id    CHAR(36)    NOT NULL,
  record_status VARCHAR(16) NOT NULL DEFAULT 'active',
  created_at    DATETIME(3) NOT NULL,
  updated_at    DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY favorites_user_article_uq (user_id, article_id),
  CONSTRAINT favorites_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT favorites_article_fk FOREIGN KEY (article_id) REFERENCES articles (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
