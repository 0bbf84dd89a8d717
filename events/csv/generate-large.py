#!/usr/bin/env python3
"""Writes a large products CSV to stdout: `generate-large.py ROWS [PREFIX] [ERROR_EVERY]`.

Every ERROR_EVERY-th row (default 0 = never) has an unparseable price, so the
pipeline's error path is exercised at scale too."""
import sys

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
prefix = sys.argv[2] if len(sys.argv) > 2 else "GEN"
error_every = int(sys.argv[3]) if len(sys.argv) > 3 else 0
out = sys.stdout
out.write("vendor_product_id,product_name,category,sku,price,stock_quantity,brand,description\n")
categories = ["Electronics", "Books", "Kitchen", "Garden", "Toys & Games"]
for i in range(1, rows + 1):
    price = "n/a" if error_every and i % error_every == 0 else f"{(i % 500) + 0.99:.2f}"
    out.write(f"{prefix}-{i},Generated product {i},{categories[i % 5]},{prefix}-SKU-{i},{price},{i % 1000},"
              f"GenCo,\"Row {i}, generated\"\n")
