-- The catalog of seeds/004 with the corrections of DESIGN.md §3:
-- counters obey valid + error <= total (equal exactly when final), money is NUMERIC(10,2),
-- upload_history / validation_errors keep vendor_id as a plain indexed column so that an
-- upload under an unknown vendor is still recorded.

CREATE TABLE vendors (
    vendor_id      VARCHAR(50)  PRIMARY KEY,
    vendor_name    VARCHAR(200) NOT NULL,
    email          VARCHAR(255) NOT NULL UNIQUE,
    phone          VARCHAR(20),
    business_name  VARCHAR(200),
    tax_id         VARCHAR(50),
    address        TEXT,
    city           VARCHAR(100),
    state          VARCHAR(50),
    country        VARCHAR(50)  DEFAULT 'USA',
    postal_code    VARCHAR(20),
    status         VARCHAR(20)  NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'suspended', 'inactive', 'pending_approval')),
    created_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX idx_vendors_status ON vendors (status);

CREATE TABLE product_categories (
    category_id      SERIAL       PRIMARY KEY,
    category_name    VARCHAR(100) NOT NULL UNIQUE,
    parent_category  VARCHAR(100),
    description      TEXT,
    is_active        BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT now()
);
-- Category names are matched case-insensitively.
CREATE UNIQUE INDEX idx_categories_lower_name ON product_categories (lower(category_name));

CREATE TABLE products (
    product_id         SERIAL        PRIMARY KEY,
    vendor_id          VARCHAR(50)   NOT NULL REFERENCES vendors (vendor_id),
    vendor_product_id  VARCHAR(100)  NOT NULL,
    product_name       VARCHAR(200)  NOT NULL,
    category           VARCHAR(100)  NOT NULL,
    subcategory        VARCHAR(100),
    description        VARCHAR(2000),
    sku                VARCHAR(100)  NOT NULL UNIQUE,
    brand              VARCHAR(100),
    price              NUMERIC(10,2) NOT NULL CHECK (price > 0),
    compare_at_price   NUMERIC(10,2) CHECK (compare_at_price IS NULL OR compare_at_price >= price),
    stock_quantity     INTEGER       NOT NULL CHECK (stock_quantity >= 0),
    unit               VARCHAR(20)   NOT NULL DEFAULT 'piece',
    weight_kg          NUMERIC(10,2) CHECK (weight_kg IS NULL OR weight_kg > 0),
    dimensions_cm      VARCHAR(50),
    image_url          VARCHAR(500),
    status             VARCHAR(20)   NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'inactive', 'out_of_stock', 'discontinued')),
    upload_id          VARCHAR(100),
    created_at         TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ   NOT NULL DEFAULT now(),
    UNIQUE (vendor_id, vendor_product_id)
);
CREATE INDEX idx_products_vendor ON products (vendor_id);
CREATE INDEX idx_products_category ON products (category);
CREATE INDEX idx_products_upload ON products (upload_id);
CREATE INDEX idx_products_search ON products
    USING gin (to_tsvector('english', product_name || ' ' || COALESCE(description, '')));

CREATE TABLE upload_history (
    upload_id                   VARCHAR(100) PRIMARY KEY,
    vendor_id                   VARCHAR(50)  NOT NULL,
    file_name                   VARCHAR(255) NOT NULL,
    s3_key                      VARCHAR(1024) NOT NULL,
    total_records               INTEGER      NOT NULL DEFAULT 0 CHECK (total_records >= 0),
    valid_records               INTEGER      NOT NULL DEFAULT 0 CHECK (valid_records >= 0),
    error_records               INTEGER      NOT NULL DEFAULT 0 CHECK (error_records >= 0),
    status                      VARCHAR(20)  NOT NULL DEFAULT 'processing'
                                CHECK (status IN ('processing', 'completed', 'partial', 'failed')),
    error_file_s3_key           VARCHAR(1024),
    upload_timestamp            TIMESTAMPTZ  NOT NULL DEFAULT now(),
    processing_started_at       TIMESTAMPTZ,
    processing_completed_at     TIMESTAMPTZ,
    processing_duration_seconds NUMERIC(12,3),
    metadata                    JSONB        NOT NULL DEFAULT '{}'::jsonb,
    -- The corrected invariant: partial progress is allowed, equality exactly when final.
    CHECK (valid_records + error_records <= total_records),
    CHECK ((status = 'processing') = (processing_completed_at IS NULL)),
    CHECK (status = 'processing' OR valid_records + error_records = total_records)
);
CREATE INDEX idx_upload_history_vendor ON upload_history (vendor_id);
CREATE INDEX idx_upload_history_status ON upload_history (status);
CREATE INDEX idx_upload_history_timestamp ON upload_history (upload_timestamp DESC);

CREATE TABLE validation_errors (
    error_id           SERIAL       PRIMARY KEY,
    upload_id          VARCHAR(100) NOT NULL REFERENCES upload_history (upload_id),
    vendor_id          VARCHAR(50)  NOT NULL,
    row_number         INTEGER      NOT NULL CHECK (row_number >= 0),
    vendor_product_id  TEXT,
    error_type         VARCHAR(50)  NOT NULL,
    error_field        TEXT         NOT NULL DEFAULT '',
    error_message      TEXT         NOT NULL,
    original_data      JSONB,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- Redelivery of an error record must not add a second row.
    UNIQUE (upload_id, row_number, error_field, error_type)
);
CREATE INDEX idx_validation_errors_vendor ON validation_errors (vendor_id);
CREATE INDEX idx_validation_errors_type ON validation_errors (error_type);

CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER vendors_touch BEFORE UPDATE ON vendors
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER products_touch BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Stock 0 makes an active product out_of_stock, and stock > 0 brings it back.
CREATE OR REPLACE FUNCTION products_stock_status() RETURNS trigger AS $$
BEGIN
    IF NEW.stock_quantity = 0 AND NEW.status = 'active' THEN
        NEW.status = 'out_of_stock';
    ELSIF NEW.stock_quantity > 0 AND NEW.status = 'out_of_stock' THEN
        NEW.status = 'active';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER products_stock_status BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION products_stock_status();

-- Each side aggregated on its own, so neither multiplies the other.
CREATE VIEW vendor_summary AS
SELECT v.vendor_id,
       v.vendor_name,
       v.status,
       COALESCE(p.total_products, 0)  AS total_products,
       COALESCE(p.active_products, 0) AS active_products,
       COALESCE(u.total_uploads, 0)   AS total_uploads,
       COALESCE(u.total_errors, 0)    AS total_errors,
       u.last_upload_at
FROM vendors v
LEFT JOIN (
    SELECT vendor_id,
           COUNT(*) AS total_products,
           COUNT(*) FILTER (WHERE status = 'active') AS active_products
    FROM products GROUP BY vendor_id
) p ON p.vendor_id = v.vendor_id
LEFT JOIN (
    SELECT vendor_id,
           COUNT(*) AS total_uploads,
           SUM(error_records) AS total_errors,
           MAX(upload_timestamp) AS last_upload_at
    FROM upload_history GROUP BY vendor_id
) u ON u.vendor_id = v.vendor_id;

CREATE VIEW recent_uploads AS
SELECT uh.upload_id,
       uh.vendor_id,
       v.vendor_name,
       uh.file_name,
       uh.status,
       uh.total_records,
       uh.valid_records,
       uh.error_records,
       CASE WHEN uh.total_records = 0 THEN NULL
            ELSE ROUND(uh.valid_records::numeric * 100 / uh.total_records, 2)
       END AS success_rate_percent,
       uh.error_file_s3_key,
       uh.upload_timestamp,
       uh.processing_completed_at,
       uh.processing_duration_seconds
FROM upload_history uh
LEFT JOIN vendors v ON v.vendor_id = uh.vendor_id
ORDER BY uh.upload_timestamp DESC;

CREATE VIEW product_catalog AS
SELECT p.product_id,
       p.vendor_id,
       v.vendor_name,
       p.vendor_product_id,
       p.product_name,
       p.category,
       p.subcategory,
       p.brand,
       p.sku,
       p.price,
       p.compare_at_price,
       p.stock_quantity,
       p.unit,
       p.image_url,
       p.updated_at
FROM products p
JOIN vendors v ON v.vendor_id = p.vendor_id
WHERE p.status = 'active';
