//! Rebuilds the server when a PostgreSQL migration changes: `sqlx::migrate!`
//! embeds `migrations/postgres/` at compile time, and cargo does not know.

fn main() {
    println!("cargo:rerun-if-changed=migrations/postgres");
}
