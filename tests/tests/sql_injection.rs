//! Values that are SQL reach PostgreSQL as values: every statement is parameterised
//! (`$1`, `unnest($2::text[])`), so a vendor's cell is stored or judged as text and
//! never runs. SECURITY.md points here.

use e2e::pipeline::{errors, field, pg, stack, unique, upload_id_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_in_a_cell_is_stored_as_text_and_runs_nowhere() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("SQLI");
    let name = "Robert'); DROP TABLE products;--";
    let csv = format!(
        "vendor_product_id,product_name,category,sku,price,stock_quantity,description\n\
         {p}-1,\"{name}\",Electronics,{p}-SKU-1,9.99,1,\"' OR '1'='1\"\n\
         {p}-2,Lamp,\"Books' OR 1=1 --\",{p}-SKU-2,9.99,1,x\n"
    );
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), csv.into_bytes(), false)
        .await
        .expect("upload");
    assert_eq!(field(&h, "status"), "partial", "{h}");
    let stored: String = db
        .query_one(
            "SELECT product_name FROM products WHERE sku = $1",
            &[&format!("{p}-SKU-1")],
        )
        .await
        .expect("the product and its table are there")
        .get(0);
    assert_eq!(stored, name);
    let errors = errors(&db, &upload_id_of(&h)).await;
    assert!(
        errors
            .iter()
            .any(|(row, code, _)| *row == 2 && code == "INVALID_CATEGORY"),
        "the category is judged as text: {errors:?}"
    );
}
