-- The 20 categories and 3 sample vendors of seeds/004.

INSERT INTO product_categories (category_name, parent_category, description) VALUES
    ('Electronics',          NULL,           'Electronic devices and accessories'),
    ('Computer Accessories', 'Electronics',  'Keyboards, mice, hubs and cables'),
    ('Audio Equipment',      'Electronics',  'Headphones, speakers and microphones'),
    ('Mobile Accessories',   'Electronics',  'Cases, chargers and mounts'),
    ('Computer Storage',     'Electronics',  'Drives, memory cards and NAS'),
    ('Clothing',             NULL,           'Apparel and fashion items'),
    ('Men''s Clothing',      'Clothing',     'Apparel for men'),
    ('Women''s Clothing',    'Clothing',     'Apparel for women'),
    ('Accessories',          'Clothing',     'Bags, belts, hats and jewellery'),
    ('Home & Garden',        NULL,           'Everything for the house and yard'),
    ('Kitchen',              'Home & Garden', 'Cookware, utensils and appliances'),
    ('Bedroom',              'Home & Garden', 'Bedding and bedroom furniture'),
    ('Bathroom',             'Home & Garden', 'Towels, storage and fixtures'),
    ('Living Room',          'Home & Garden', 'Furniture and decor'),
    ('Garden',               'Home & Garden', 'Tools, plants and outdoor furniture'),
    ('Sports & Outdoors',    NULL,           'Sports equipment and outdoor gear'),
    ('Books',                NULL,           'Printed and electronic books'),
    ('Toys & Games',         NULL,           'Toys, puzzles and games'),
    ('Health & Beauty',      NULL,           'Personal care and wellness'),
    ('Food & Beverage',      NULL,           'Groceries, snacks and drinks');

INSERT INTO vendors (vendor_id, vendor_name, email, phone, business_name, tax_id, address, city, state, country, postal_code, status) VALUES
    ('VEND001', 'TechGear Solutions', 'contact@techgear.com',      '+1-555-0101', 'TechGear Solutions LLC', 'TAX-001-TG', '100 Innovation Way', 'San Francisco', 'CA', 'USA', '94105', 'active'),
    ('VEND002', 'StyleWear Fashion',  'info@stylewear.com',        '+1-555-0102', 'StyleWear Inc',          'TAX-002-SW', '200 Fashion Ave',    'New York',      'NY', 'USA', '10001', 'active'),
    ('VEND003', 'HomeEssentials Co',  'support@homeessentials.com','+1-555-0103', 'Home Essentials Corp',   'TAX-003-HE', '300 Comfort Lane',   'Austin',        'TX', 'USA', '73301', 'active');
